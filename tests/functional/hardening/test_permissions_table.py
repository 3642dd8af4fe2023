"""Every admin route is guarded by the permission API.md says, read from the route table.

The rule is Django's: `<action>_<content type>`, the action from the method (GET view,
POST add, PUT change, DELETE delete) and the content type from the path, by the map
below (longest prefix wins). The exceptions are written out: the admin login is public,
and the small lists the console's dialogs load need only staff. A new admin route whose
path the map does not know fails here until someone decides its content type, and one
guarded by another permission (or by none) fails too. The map already holds the
catalogue's prefixes (goods/, specs/options/, ...), so routes added there are checked
the day they appear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from chalicelib import auth
from chalicelib.services import permissions
from tests.openapi_check import operation

ADMIN = "/meiduo_admin/"
# Path (after /meiduo_admin/, placeholders written {}) -> content type. Longest prefix wins.
CONTENT_TYPES = {
    "authorizations/": None,  # the login: public, below
    "statistical/": "statistics",
    "users/": "user",
    "skus/": "sku",
    "skus/images/": "image",
    "goods/": "spu",
    "goods/specs/": "spec",
    "specs/options/": "option",
    "goods/brands/": "brand",
    "goods/channels/": "channel",
    "orders/": "order",
    # Refunds are part of handling an order (API.md has no payment content type).
    "payments/": "order",
    "permission/perms/": "permission",
    "permission/groups/": "group",
    "permission/admins/": "admin",
}
PUBLIC = {("POST", "authorizations/")}
# Routes that need a permission of their own rather than their method's (API.md).
SPECIAL = {
    ("POST", "orders/{}/refunds/"): "refund_order",
    ("POST", "payments/{}/refund/"): "refund_order",
}
# The lists the console's dialogs load (API.md): staff, no permission.
STAFF_ONLY = {
    ("GET", "skus/simple/"),
    ("GET", "skus/categories/"),
    ("GET", "goods/simple/"),
    ("GET", "goods/{}/specs/"),
    ("GET", "goods/brands/simple/"),
    ("GET", "goods/specs/simple/"),
    ("GET", "goods/channel_types/"),
    ("GET", "goods/categories/"),
    ("GET", "goods/channel/categories/"),
    ("GET", "goods/channel/categories/{}/"),
    ("GET", "permission/content_types/"),
    ("GET", "permission/simple/"),
    ("GET", "permission/groups/simple/"),
}


class UnknownAdminPath(LookupError):
    pass


def relative(path: str) -> str:
    """'/meiduo_admin/goods/{spu_id}/specs' -> 'goods/{}/specs/'."""
    return re.sub(r"{\w+}", "{}", path.removeprefix(ADMIN).rstrip("/") + "/")


def expected_guard(method: str, path: str) -> str:
    """auth.PUBLIC, auth.STAFF (no permission) or the permission codename a route needs."""
    rel = relative(path)
    if (method, rel) in PUBLIC:
        return auth.PUBLIC
    if (method, rel) in STAFF_ONLY:
        return auth.STAFF
    if (method, rel) in SPECIAL:
        return SPECIAL[(method, rel)]
    prefixes = [p for p in CONTENT_TYPES if rel.startswith(p) and CONTENT_TYPES[p]]
    if not prefixes:
        raise UnknownAdminPath(
            f"{method} {path}: no content type for this path; add its prefix to "
            "CONTENT_TYPES (or the route to STAFF_ONLY / PUBLIC, if API.md says so)"
        )
    model = CONTENT_TYPES[max(prefixes, key=len)]
    return permissions.codename(permissions.METHOD_ACTIONS[method], model)  # type: ignore[arg-type]


def actual_guard(view: Callable[..., Any]) -> str | None:
    codename = auth.permission_of(view)
    return codename if codename else auth.access_of(view)


def problems(routes: Iterable[tuple[str, str, Callable[..., Any]]]) -> list[str]:
    found = []
    for method, path, view in routes:
        try:
            expected = expected_guard(method, path)
        except UnknownAdminPath as exc:
            found.append(str(exc))
            continue
        actual = actual_guard(view)
        if actual != expected:
            found.append(f"{method} {path}: guarded by {actual}, API.md says {expected}")
        elif expected not in (auth.PUBLIC, auth.STAFF) and expected not in (
            permissions.BUILTIN_CODENAMES
        ):
            found.append(f"{method} {path}: {expected} is not a built-in permission")
        elif expected != auth.PUBLIC and auth.access_of(view) != auth.STAFF:
            found.append(f"{method} {path}: not a staff route")
    return found


def admin_routes() -> list[tuple[str, str, Callable[..., Any]]]:
    from app import app

    return sorted(
        (method, path, entry.view_function)
        for path, methods in app.routes.items()
        if path.startswith(ADMIN)
        for method, entry in methods.items()
        if method != "OPTIONS"
    )


def test_every_admin_route_is_guarded_by_its_permission() -> None:
    routes = admin_routes()

    assert len(routes) >= 40
    assert problems(routes) == []


def test_the_guarded_admin_routes_say_so_in_the_spec() -> None:
    """docs/openapi.yaml names each operation's permission (`x-permission`) and its 403."""
    wrong = []
    for method, path, view in admin_routes():
        documented = operation(path, method)
        codename = auth.permission_of(view)
        if documented.get("x-permission") != codename:
            wrong.append(f"{method} {path}: x-permission {documented.get('x-permission')}")
        if auth.access_of(view) == auth.STAFF and "403" not in documented["responses"]:
            wrong.append(f"{method} {path}: no 403")

    assert wrong == []


# --- the check checks -------------------------------------------------------------------


def _view(mark: Callable[[Any], Any]) -> Callable[..., Any]:
    def view(user: Any) -> None:
        return None

    return mark(view)


def test_a_new_admin_route_the_map_does_not_know_fails() -> None:
    found = problems([("GET", "/meiduo_admin/coupons", _view(auth.staff_required))])

    assert len(found) == 1
    assert "no content type" in found[0]


@pytest.mark.parametrize(
    ("method", "path", "mark", "fault"),
    [
        # the wrong action for the method
        ("PUT", "/meiduo_admin/skus/{sku_id}", auth.permission_required("view_sku"), "view_sku"),
        # the wrong content type for the path
        ("GET", "/meiduo_admin/skus/images", auth.permission_required("view_sku"), "view_sku"),
        # staff only where a permission is needed
        ("DELETE", "/meiduo_admin/goods/brands/{brand_id}", auth.staff_required, "staff"),
        # a permission where API.md says staff is enough
        ("GET", "/meiduo_admin/goods/{spu_id}/specs", auth.permission_required("view_spu"), ""),
        # a guarded login
        ("POST", "/meiduo_admin/authorizations", auth.staff_required, "staff"),
    ],
)
def test_a_route_guarded_otherwise_fails(method: str, path: str, mark: Any, fault: str) -> None:
    found = problems([(method, path, _view(mark))])

    assert len(found) == 1
    assert fault in found[0]


def test_the_future_catalogue_routes_are_mapped_as_api_md_says() -> None:
    assert expected_guard("POST", "/meiduo_admin/goods") == "add_spu"
    assert expected_guard("PUT", "/meiduo_admin/goods/{spu_id}") == "change_spu"
    assert expected_guard("DELETE", "/meiduo_admin/goods/specs/{spec_id}") == "delete_spec"
    assert expected_guard("GET", "/meiduo_admin/specs/options") == "view_option"
    assert expected_guard("POST", "/meiduo_admin/goods/brands") == "add_brand"
    assert expected_guard("PUT", "/meiduo_admin/goods/channels/{channel_id}") == "change_channel"
    assert expected_guard("GET", "/meiduo_admin/goods/{spu_id}/specs") == auth.STAFF
    assert expected_guard("GET", "/meiduo_admin/goods/channel/categories/{id}") == auth.STAFF
    assert expected_guard("POST", "/meiduo_admin/orders/{order_id}/refunds") == "refund_order"
    assert expected_guard("POST", "/meiduo_admin/payments/{payment_id}/refund") == "refund_order"
    assert expected_guard("GET", "/meiduo_admin/statistical/sales") == "view_statistics"


def test_every_content_type_has_its_four_permissions_and_refunds_their_own() -> None:
    models = {model for model, _ in permissions.BUILTIN_CONTENT_TYPES}

    assert set(filter(None, CONTENT_TYPES.values())) <= models
    assert len(models) == 13
    four_each = {
        f"{action}_{model}" for model in models for action in ("view", "add", "change", "delete")
    }
    assert four_each | {"refund_order"} == permissions.BUILTIN_CODENAMES


def test_a_malformed_codename_is_refused_when_the_route_is_declared() -> None:
    with pytest.raises(ValueError, match="not a permission codename"):
        auth.permission_required("sku.view")
