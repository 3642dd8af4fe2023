"""Defect 9: unknown paths answer 404 {detail, code} and repeat nothing the client sent.

chalice's API Gateway imitation answered 403 "Missing Authentication Token", and with an
Authorization header a 403 whose message quoted the whole header, token included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ShopClient

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize(
    "path", ["/no-such-thing/", "/users/1/2/3/", "/meiduo_admin/nope/", "/orders/1/nope/?a=1"]
)
@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}"])
def test_an_unknown_path_is_a_404_that_echoes_nothing(
    client: ShopClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.http.request(method, path, headers=headers)

    assert response.status_code == 404
    assert json.loads(response.body) == {"detail": "No such path.", "code": "not_found"}
    assert TOKEN.encode() not in response.body
    assert TOKEN not in json.dumps(dict(response.headers))


def test_an_unknown_path_leaves_the_route_table_alone(client: ShopClient) -> None:
    from app import app

    before = set(app.routes)
    client.http.get("/no-such-thing/")
    client.http.options("/no-such-thing/")
    assert set(app.routes) == before


def test_the_lambda_handler_answers_an_unknown_resource_path_with_404() -> None:
    # API Gateway never sends one, but the handler must not answer 405 and grow app.routes.
    from app import app

    before = set(app.routes)
    response = app(_event("/nope/{x}", "GET"), _Context())

    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"detail": "No such path.", "code": "not_found"}
    assert set(app.routes) == before


def test_an_unknown_path_gets_cors_headers_for_an_allowed_origin(client: ShopClient) -> None:
    response = client.http.get("/nope/", headers={"Origin": "http://localhost:8080"})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_a_method_the_route_lacks_is_a_405_that_does_not_quote_it(client: ShopClient) -> None:
    response = client.http.request("PATCH", "/health/")
    assert response.status_code == 405
    assert json.loads(response.body) == {
        "detail": "This method is not allowed on this path.",
        "code": "method_not_allowed",
    }


def _event(resource: str, method: str) -> dict[str, Any]:
    return {
        "requestContext": {"httpMethod": method, "resourcePath": resource, "path": "/nope/1"},
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": {},
        "stageVariables": {},
        "body": None,
    }


class _Context:
    function_name = "api_handler"
    aws_request_id = "test"
