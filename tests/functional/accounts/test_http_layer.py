"""The HTTP layer: CORS for listed origins, error shapes, backing services that are down."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import auth
from chalicelib.api.middleware import api_middleware, register_preflight_routes
from chalicelib.api.routing import ApiBlueprint, ShopApp
from tests.conftest import REAL_DATABASE, REAL_REDIS, ROOT, post_json

ALLOWED = "http://localhost:8080"


def test_listed_origins_get_cors_headers_with_credentials(client: Any) -> None:
    response = client.http.get("/health/", headers={"Origin": ALLOWED})

    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Vary"] == "Origin"


def test_other_origins_get_no_cors_headers(client: Any) -> None:
    response = client.http.get("/health/", headers={"Origin": "https://evil.example.com"})

    assert response.status_code == 200
    assert not any(h.lower().startswith("access-control-") for h in response.headers)


def test_preflights_are_answered_with_methods_and_headers(client: Any) -> None:
    response = client.http.options(
        "/addresses/12/",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE, OPTIONS, PUT"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_preflights_from_other_origins_get_no_cors_headers(client: Any) -> None:
    response = client.http.options(
        "/users/",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )

    assert not any(h.lower().startswith("access-control-") for h in response.headers)


def test_the_admin_front_ends_origin_is_configurable(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CORS_ALLOWED_ORIGINS", "https://admin.example.com, https://shop.example.com"
    )

    allowed = client.http.get("/health/", headers={"Origin": "https://shop.example.com"})
    former = client.http.get("/health/", headers={"Origin": ALLOWED})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Access-Control-Allow-Origin" not in former.headers


def test_errors_carry_cors_headers_too(client: Any) -> None:
    response = client.http.get("/user/", headers={"Origin": ALLOWED})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_an_unsupported_method_is_a_405_in_our_error_shape(client: Any) -> None:
    response = client.http.request(
        "PATCH", "/users/", body=b"{}", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 405
    assert response.json_body == {
        "detail": "This method is not allowed on this path.",
        "code": "method_not_allowed",
    }


def _throwaway_app(view_error: Exception) -> ShopApp:
    app = ShopApp(app_name="errors-test")
    app.register_middleware(api_middleware, "http")
    bp = ApiBlueprint(__name__)

    @bp.route("/boom/", methods=["GET"])
    @auth.public
    def boom() -> None:
        raise view_error

    app.register_blueprint(bp)
    register_preflight_routes(app)
    return app


def test_an_unexpected_error_is_a_logged_500_that_hides_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _throwaway_app(RuntimeError("password=hunter2 at db-7.internal"))

    with caplog.at_level(logging.ERROR, logger="shop.api"), Client(app, project_dir=str(ROOT)) as c:
        response = c.http.get("/boom/")

    assert response.status_code == 500
    assert response.json_body == {"detail": "An internal error occurred.", "code": "internal_error"}
    assert b"hunter2" not in response.body
    assert "hunter2" in caplog.text  # the operator sees it in the logs


def test_a_connection_failure_is_a_503_with_retry_after() -> None:
    app = _throwaway_app(ConnectionRefusedError("no route"))

    with Client(app, project_dir=str(ROOT)) as c:
        response = c.http.get("/boom/")

    assert response.status_code == 503
    assert response.json_body["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_a_database_that_is_down_gives_503_and_health_names_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://shop:pw@127.0.0.1:1/shop")

    signup = post_json(client, "/users/", {"username": "alice_01", "password": "password123"})
    health = client.http.get("/health/")

    assert signup.status_code == 503
    assert signup.json_body["code"] == "service_unavailable"
    assert health.status_code == 503
    body = dict(health.json_body)
    circuits = body.pop("circuits")
    assert body == {
        "status": "unavailable",
        "database": "unavailable",
        "redis": "ok",
        "storage": "ok",
    }
    assert circuits["database"] == "closed"  # two failures so far; it opens at three


def test_a_redis_that_is_down_gives_503_and_no_login(
    client: Any, make_user: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("alice_01", "password123")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")

    login = post_json(
        client, "/authorizations/", {"username": "alice_01", "password": "password123"}
    )
    health = client.http.get("/health/")

    assert login.status_code == 503
    assert health.status_code == 503
    assert health.json_body["redis"] == "unavailable"
    assert health.json_body["database"] == "ok"


def test_health_is_ok_when_everything_answers(client: Any) -> None:
    response = client.http.get("/health/")

    assert response.status_code == 200
    body = dict(response.json_body)
    circuits = body.pop("circuits")
    assert body == {"status": "ok", "database": "ok", "redis": "ok", "storage": "ok"}
    # the embedded twins have no breakers; real servers each have one, closed (and
    # Alipay's, the simulator's here, once an earlier test called it)
    assert set(circuits.values()) <= {"closed"}
    assert ("database" in circuits, "redis" in circuits) == (bool(REAL_DATABASE), bool(REAL_REDIS))
