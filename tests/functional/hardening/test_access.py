"""Defect 12 and the authorization matrix.

`@auth.login_required` only marked a view; ApiBlueprint read the mark. On a plain
Blueprint the same decorator let anyone in. Now the requiring decorators check the
user themselves, ShopApp refuses routes that declare no access or that need a token
but bypass ApiBlueprint, and every route of the app is checked below against every
kind of caller, from the route table, so a new route cannot be forgotten.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice import Blueprint, Chalice
from chalice.test import Client

from chalicelib import auth
from chalicelib.api.middleware import api_middleware
from chalicelib.api.routing import ApiBlueprint, ShopApp
from tests.conftest import ROOT, ShopClient

# The routes anyone may call. Making a route public is a decision: it is written twice,
# as @auth.public on the view and here.
PUBLIC_ROUTES = {
    ("POST", "/users"),
    ("GET", "/usernames/{username}/count"),
    ("POST", "/authorizations"),
    ("POST", "/meiduo_admin/authorizations"),
    ("GET", "/health"),
    ("GET", "/categories"),
    ("GET", "/channels"),
    ("GET", "/home"),
    ("GET", "/skus"),
    ("GET", "/skus/{sku_id}"),
    ("GET", "/skus/{sku_id}/comments"),
    ("GET", "/search"),
    ("POST", "/payments/alipay/notify"),
    ("GET", "/payments/alipay/return"),
    ("PUT", "/emails/verification"),  # the token from the mail is the credential
    # local stage only (api/dev.py): the Alipay simulator and the media folder
    ("GET", "/media/{directory}/{name}"),
    ("GET", "/alipay-sim/gateway"),
    ("POST", "/alipay-sim/trades/{out_trade_no}/pay"),
    ("POST", "/alipay-sim/trades/{out_trade_no}/cancel"),
    ("POST", "/alipay-sim/faults/refund-timeout"),
}
# Path parameters that name a customer's own things: another customer gets 404.
OWNED = {"order_id", "address_id"}


def _app_routes() -> list[tuple[str, str, Any]]:
    from app import app

    return sorted(
        (method, path, entry)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS"
    )


# --- the decorator and the registration ------------------------------------------------


def _plain_app(app: Chalice) -> Chalice:
    app.register_middleware(api_middleware, "http")
    bp = Blueprint(__name__)

    @bp.route("/secret", methods=["GET"])
    @auth.login_required
    def secret(user: Any = None) -> dict[str, Any]:
        return {"secret": "42", "user": repr(user)}

    @bp.route("/staff-secret", methods=["GET"])
    @auth.staff_required
    def staff_secret(user: Any = None) -> dict[str, Any]:
        return {"secret": "43"}

    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize("path", ["/secret", "/staff-secret"])
def test_login_required_on_a_plain_blueprint_refuses_everyone(path: str) -> None:
    app = _plain_app(Chalice(app_name="plain"))
    with Client(app, project_dir=str(ROOT)) as client:
        response = client.http.get(path, headers={"Authorization": "Bearer whatever"})

    assert response.status_code == 401
    assert b"secret" not in response.body


def test_the_shop_app_refuses_a_guarded_view_registered_outside_api_blueprint() -> None:
    with pytest.raises(TypeError, match="register it through an ApiBlueprint"):
        _plain_app(ShopApp(app_name="plain"))


def test_a_route_without_an_access_mark_is_refused() -> None:
    bp = ApiBlueprint(__name__)
    with pytest.raises(TypeError, match=r"mark it @auth\.public"):

        @bp.route("/forgotten/", methods=["GET"])
        def forgotten() -> dict[str, Any]:
            return {}

    app = ShopApp(app_name="unmarked")
    with pytest.raises(TypeError, match=r"mark it @auth\.public"):

        @app.route("/forgotten")
        def forgotten_too() -> dict[str, Any]:
            return {}


def test_a_staff_view_called_with_a_customer_is_refused() -> None:
    customer = auth.CurrentUser(1, "a", is_staff=False, is_superuser=False, claims={})

    @auth.staff_required
    def view(user: auth.CurrentUser) -> str:
        return "ran"

    with pytest.raises(auth.PermissionDenied):
        view(customer)
    with pytest.raises(auth.NotAuthenticated):
        view()


def test_every_route_declares_who_may_call_it() -> None:
    routes = _app_routes()
    unclassified = [(m, p) for m, p, e in routes if auth.access_of(e.view_function) is None]
    assert unclassified == []
    public = {(m, p) for m, p, e in routes if auth.access_of(e.view_function) == auth.PUBLIC}
    assert public == PUBLIC_ROUTES
    admin_not_staff = [
        (m, p)
        for m, p, e in routes
        if p.startswith("/meiduo_admin/")
        and (m, p) != ("POST", "/meiduo_admin/authorizations")
        and auth.access_of(e.view_function) != auth.STAFF
    ]
    assert admin_not_staff == []


# --- the matrix: every route x {anonymous, customer A, customer B, superuser, staff} ------
#
# "superuser" is staff with every permission: it may call every staff route. "limited" is
# staff without a single permission: it may call the staff-only routes (the console's
# pick lists) and gets 403 on every permission-guarded one. Which permission each admin
# route needs is test_permissions_table.py's subject.


def test_the_authorization_matrix(
    client: ShopClient, make_user: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    from tests import factories
    from tests.conftest import committed

    alice = make_user("alice")
    bob = make_user("bob")
    staff = make_user("staff", is_staff=True, is_superuser=True)
    limited = make_user("limited", is_staff=True)
    sku_id = make_sku(price="10.00", stock=5)
    order_id = make_order(alice.id, sku_id)
    address_id = committed(factories.address)(alice.id)
    values = {
        "order_id": order_id,
        "address_id": str(address_id),
        "sku_id": str(sku_id),
        "image_id": "999999",
        "permission_id": "999999999",  # ids grow by 52 with each test's fresh permissions
        "group_id": "999999",
        "staff_id": "999999",
        "spu_id": "999999",
        "spec_id": "999999",
        "option_id": "999999",
        "brand_id": "999999",
        "channel_id": "999999",
        "category_id": "999999",
        "username": "alice",
        "directory": "nothing",
        "name": "here.png",
        "out_trade_no": order_id,
        "payment_id": "999999",
    }
    # Valid bodies where the view validates before it looks the owned thing up.
    bodies = {
        ("PUT", "/addresses/{address_id}"): factories.ADDRESS,
        ("POST", "/orders/{order_id}/comments"): {
            "comments": [{"sku_id": sku_id, "score": 5, "content": "好"}]
        },
    }
    failures: list[str] = []

    def call(method: str, path: str, entry: Any, headers: dict[str, str]) -> int:
        content_type = entry.content_types[0]
        body = b""
        if content_type == "application/json" and method in ("POST", "PUT"):
            body = json.dumps(bodies.get((method, entry.uri_pattern), {})).encode()
        response = client.http.request(
            method, path, headers={**headers, "Content-Type": content_type}, body=body
        )
        # 503: the payment status asks Alipay, which no test server answers here.
        assert response.status_code not in (500, 502), f"{method} {path}: {response.status_code}"
        return int(response.status_code)

    def expect(who: str, method: str, path: str, status: int, wanted: str) -> None:
        ok = {
            "401": status == 401,
            "403": status == 403,
            "404": status == 404,
            "allowed": status not in (401, 403),
        }[wanted]
        if not ok:
            failures.append(f"{who:9} {method:6} {path}: {status}, expected {wanted}")

    # A's own routes last: they change things (cancel, delete) the others look at first.
    for method, template, entry in _app_routes():
        placeholders = re.findall(r"{(\w+)}", template)
        unknown = [name for name in placeholders if name not in values]
        assert not unknown, f"{method} {template}: add a value for {unknown} to the matrix"
        path = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template) + "/"
        access = auth.access_of(entry.view_function)
        owned = access == auth.USER and any(name in OWNED for name in placeholders)

        expect("anonymous", method, path, call(method, path, entry, {}), (
            "allowed" if access == auth.PUBLIC else "401"
        ))  # fmt: skip
        expect("bob", method, path, call(method, path, entry, auth_headers(bob)), (
            "403" if access == auth.STAFF else "404" if owned else "allowed"
        ))  # fmt: skip
        expect("staff", method, path, call(method, path, entry, auth_headers(staff)), (
            "404" if owned else "allowed"
        ))  # fmt: skip
        guarded = auth.permission_of(entry.view_function) is not None
        expect("limited", method, path, call(method, path, entry, auth_headers(limited)), (
            "403" if guarded else "404" if owned else "allowed"
        ))  # fmt: skip
        expect("alice", method, path, call(method, path, entry, auth_headers(alice)), (
            "403" if access == auth.STAFF else "allowed"
        ))  # fmt: skip
    assert failures == [], "\n".join(failures)


def test_a_token_on_a_public_route_is_not_read(client: ShopClient) -> None:
    response = client.http.get("/health/", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200
    assert json.loads(response.body)["status"] == "ok"
