"""Admin routes need their permission: held directly, through a group, or as a superuser,
and read on every request, so a change applies at the holder's next request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from chalicelib.db.engine import transaction
from chalicelib.db.tables import user_permissions
from tests import factories
from tests.conftest import ShopClient, put_json

ORDERS = "/meiduo_admin/orders/"
USERS = "/meiduo_admin/users/"


def test_a_staff_user_without_the_permission_is_refused_and_told_which_it_needs(
    client: ShopClient, make_staff: Any, auth_headers: Any
) -> None:
    ops = make_staff("ops_0001")

    response = client.http.get(ORDERS, headers=auth_headers(ops))

    assert response.status_code == 403
    assert response.json_body["code"] == "permission_denied"
    assert response.json_body["permission"] == "view_order"


def test_a_permission_held_directly_opens_its_routes_and_no_others(
    client: ShopClient,
    make_staff: Any,
    auth_headers: Any,
    make_user: Any,
    make_order: Any,
    make_sku: Any,
) -> None:
    ops = make_staff("ops_0001", codenames=("view_order",))
    order_id = make_order(make_user().id, make_sku())
    headers = auth_headers(ops)

    assert client.http.get(ORDERS, headers=headers).status_code == 200
    assert client.http.get(f"{ORDERS}{order_id}/", headers=headers).status_code == 200
    # viewing is not changing, and orders are not users
    moved = put_json(client, f"{ORDERS}{order_id}/status/", {"status": 6}, headers=headers)
    assert moved.status_code == 403
    assert moved.json_body["permission"] == "change_order"
    assert client.http.get(USERS, headers=headers).status_code == 403


def test_a_permission_held_through_a_group_opens_its_routes(
    client: ShopClient, make_staff: Any, make_group: Any, auth_headers: Any
) -> None:
    group_id = make_group("运营", codenames=("view_user", "view_statistics"))
    ops = make_staff("ops_0001", group_ids=(group_id,))
    headers = auth_headers(ops)

    assert client.http.get(USERS, headers=headers).status_code == 200
    assert (
        client.http.get("/meiduo_admin/statistical/total_count/", headers=headers).status_code
        == 200
    )
    assert client.http.get(ORDERS, headers=headers).status_code == 403


def test_a_superuser_holds_every_permission_without_rows(
    client: ShopClient, make_user: Any, auth_headers: Any
) -> None:
    root = make_user("root_0001", is_staff=True, is_superuser=True)
    headers = auth_headers(root)

    for path in (ORDERS, USERS, "/meiduo_admin/permission/admins/", "/meiduo_admin/skus/"):
        assert client.http.get(path, headers=headers).status_code == 200, path


def test_permissions_do_not_make_a_customer_staff(
    client: ShopClient, make_user: Any, auth_headers: Any
) -> None:
    customer = make_user("buyer_0001")
    with transaction() as conn:
        (permission_id,) = factories.permission_ids(conn, "view_order")
        conn.execute(
            user_permissions.insert().values(user_id=customer.id, permission_id=permission_id)
        )

    response = client.http.get(ORDERS, headers=auth_headers(customer))

    assert response.status_code == 403
    assert "permission" not in response.json_body


def test_a_group_losing_a_permission_applies_at_the_members_next_request(
    client: ShopClient, make_staff: Any, make_group: Any, make_user: Any, auth_headers: Any
) -> None:
    # given a member of 运营, which may view orders, with a token in hand
    group_id = make_group("运营", codenames=("view_order", "view_user"))
    ops_headers = auth_headers(make_staff("ops_0001", group_ids=(group_id,)))
    root_headers = auth_headers(make_user("root_0001", is_staff=True, is_superuser=True))
    assert client.http.get(ORDERS, headers=ops_headers).status_code == 200

    # when a superuser takes view_order away from the group
    with transaction() as conn:
        (view_user,) = factories.permission_ids(conn, "view_user")
    changed = put_json(
        client,
        f"/meiduo_admin/permission/groups/{group_id}/",
        {"name": "运营", "permissions": [view_user]},
        headers=root_headers,
    )

    # then the same token is refused orders at once, and keeps what the group still gives
    assert changed.status_code == 200
    assert client.http.get(ORDERS, headers=ops_headers).status_code == 403
    assert client.http.get(USERS, headers=ops_headers).status_code == 200

    # and giving it back applies as quickly
    with transaction() as conn:
        both = factories.permission_ids(conn, "view_order", "view_user")
    put_json(
        client,
        f"/meiduo_admin/permission/groups/{group_id}/",
        {"name": "运营", "permissions": both},
        headers=root_headers,
    )
    assert client.http.get(ORDERS, headers=ops_headers).status_code == 200


def test_leaving_a_group_or_its_deletion_applies_at_the_next_request(
    client: ShopClient, make_staff: Any, make_group: Any, make_user: Any, auth_headers: Any
) -> None:
    first = make_group("运营", codenames=("view_order",))
    second = make_group("客服", codenames=("view_user",))
    ops = make_staff("ops_0001", group_ids=(first, second))
    ops_headers = auth_headers(ops)
    root_headers = auth_headers(make_user("root_0001", is_staff=True, is_superuser=True))

    left = put_json(
        client,
        f"/meiduo_admin/permission/admins/{ops.id}/",
        {"username": "ops_0001", "email": "", "mobile": None, "groups": [second]},
        headers=root_headers,
    )
    assert left.status_code == 200
    assert client.http.get(ORDERS, headers=ops_headers).status_code == 403
    assert client.http.get(USERS, headers=ops_headers).status_code == 200

    deleted = client.http.delete(f"/meiduo_admin/permission/groups/{second}/", headers=root_headers)
    assert deleted.status_code == 204
    assert client.http.get(USERS, headers=ops_headers).status_code == 403


@contextmanager
def counting(db: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db, "before_cursor_execute", record)


def test_the_check_is_one_query_and_none_for_a_superuser(
    client: ShopClient, db: Any, make_staff: Any, make_user: Any, auth_headers: Any
) -> None:
    path = "/meiduo_admin/permission/groups/simple/"  # staff only: no permission to check
    guarded = "/meiduo_admin/permission/groups/"  # view_group, the same one query behind it
    ops_headers = auth_headers(make_staff("ops_0001", codenames=("view_group",)))
    root_headers = auth_headers(make_user("root_0001", is_staff=True, is_superuser=True))

    def queries(route: str, headers: dict[str, str]) -> int:
        with counting(db) as statements:
            assert client.http.get(route, headers=headers).status_code == 200
        return len(statements)

    baseline = queries(path, root_headers)  # authenticate + the list
    assert queries(path, ops_headers) == baseline
    # the page of groups costs its own queries (page, permissions, count): compare like
    # with like, the superuser and the staff user on the same route
    assert queries(guarded, ops_headers) == queries(guarded, root_headers) + 1
