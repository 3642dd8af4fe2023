"""permission/*: permissions, content types, groups and staff users, as a superuser and as
staff holding only some of the permissions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import user_groups, user_permissions, users
from tests import factories
from tests.conftest import ShopClient, post_json, put_json

BASE = "/meiduo_admin/permission"


@pytest.fixture
def root(make_user: Any) -> Any:
    return make_user("root_0001", "root-password-1", is_staff=True, is_superuser=True)


@pytest.fixture
def root_headers(root: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(root))


def ids(*codenames: str) -> list[int]:
    with transaction() as conn:
        return factories.permission_ids(conn, *codenames)


# --- content types and permissions -------------------------------------------------------


def test_the_thirteen_content_types_their_four_permissions_and_refund_order_are_there(
    client: ShopClient, root_headers: dict[str, str]
) -> None:
    types = client.http.get(f"{BASE}/content_types/", headers=root_headers).json_body
    page = client.http.get(
        f"{BASE}/perms/?ordering=id&pagesize=100", headers=root_headers
    ).json_body
    simple = client.http.get(f"{BASE}/simple/", headers=root_headers).json_body

    assert [t["model"] for t in types] == [
        "user", "sku", "spu", "spec", "option", "brand", "channel",
        "image", "order", "permission", "group", "admin", "statistics",
    ]  # fmt: skip
    assert page["count"] == len(simple) == 13 * 4 + 1
    by_codename = {p["codename"]: p for p in page["lists"]}
    order_type = next(t["id"] for t in types if t["model"] == "order")
    assert by_codename["view_order"]["content_type"] == order_type
    assert by_codename["view_order"]["name"] == "查看订单"
    assert by_codename["refund_order"]["content_type"] == order_type
    assert by_codename["refund_order"]["name"] == "退款订单"
    assert [p["id"] for p in page["lists"]] == sorted(p["id"] for p in page["lists"])
    assert simple[0] == {"id": page["lists"][0]["id"], "name": page["lists"][0]["name"]}


def test_permissions_list_newest_first_on_request_and_refuse_an_unknown_ordering(
    client: ShopClient, root_headers: dict[str, str]
) -> None:
    newest = client.http.get(f"{BASE}/perms/?ordering=-id", headers=root_headers)
    unknown = client.http.get(f"{BASE}/perms/?ordering=name", headers=root_headers)

    first_ids = [p["id"] for p in newest.json_body["lists"]]
    assert first_ids == sorted(first_ids, reverse=True)
    assert unknown.status_code == 400
    assert "ordering" in unknown.json_body


def test_a_custom_permission_is_created_changed_and_deleted(
    client: ShopClient, root_headers: dict[str, str], make_group: Any
) -> None:
    types = client.http.get(f"{BASE}/content_types/", headers=root_headers).json_body
    order_type = next(t["id"] for t in types if t["model"] == "order")
    created = post_json(
        client,
        f"{BASE}/perms/",
        {"name": "导出订单", "codename": "export_order", "content_type": str(order_type)},
        headers=root_headers,
    )
    assert created.status_code == 201
    permission = created.json_body
    assert (permission["codename"], permission["content_type"]) == ("export_order", order_type)
    path = f"{BASE}/perms/{permission['id']}/"
    group_id = make_group("导出", codenames=("export_order",))

    taken = post_json(
        client,
        f"{BASE}/perms/",
        {"name": "又一个", "codename": "export_order", "content_type": order_type},
        headers=root_headers,
    )
    no_type = post_json(
        client,
        f"{BASE}/perms/",
        {"name": "x", "codename": "x_y", "content_type": 999_999},
        headers=root_headers,
    )
    renamed = put_json(
        client,
        path,
        {"name": "导出全部订单", "codename": "export_orders", "content_type": order_type},
        headers=root_headers,
    )
    deleted = client.http.delete(path, headers=root_headers)
    gone = client.http.get(path, headers=root_headers)
    group = client.http.get(f"{BASE}/groups/{group_id}/", headers=root_headers)

    assert taken.status_code == 400 and list(taken.json_body) == ["codename"]
    assert no_type.status_code == 400 and list(no_type.json_body) == ["content_type"]
    assert renamed.status_code == 200
    assert renamed.json_body["codename"] == "export_orders"
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert group.json_body["permissions"] == []


def test_a_built_in_permission_may_be_renamed_but_not_redefined_or_deleted(
    client: ShopClient, root_headers: dict[str, str]
) -> None:
    (view_order,) = ids("view_order")
    path = f"{BASE}/perms/{view_order}/"
    current = client.http.get(path, headers=root_headers).json_body

    renamed = put_json(client, path, {**current, "name": "查看全部订单"}, headers=root_headers)
    recoded = put_json(client, path, {**current, "codename": "see_order"}, headers=root_headers)
    deleted = client.http.delete(path, headers=root_headers)

    assert renamed.status_code == 200
    assert renamed.json_body["name"] == "查看全部订单"
    assert recoded.status_code == 409
    assert recoded.json_body["code"] == "builtin_permission"
    assert deleted.status_code == 409
    assert client.http.get(path, headers=root_headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "codename": "a_b", "content_type": 1},
        {"name": "x", "codename": "a b", "content_type": 1},
        {"name": "x", "codename": "a_b", "content_type": "1.0"},
        {"name": "x", "codename": "a_b", "content_type": True},
        {"name": "x", "codename": "a_b", "content_type": " 1"},
        {"name": "x\x00", "codename": "a_b", "content_type": 1},
    ],
)
def test_a_bad_permission_is_refused_naming_the_field(
    client: ShopClient, root_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = post_json(client, f"{BASE}/perms/", body, headers=root_headers)

    assert response.status_code == 400
    assert len(response.json_body) == 1


# --- groups ------------------------------------------------------------------------------


def test_a_group_is_created_listed_changed_and_deleted(
    client: ShopClient, root_headers: dict[str, str], make_staff: Any
) -> None:
    view_order, view_user = ids("view_order", "view_user")
    created = post_json(
        client,
        f"{BASE}/groups/",
        {"name": " 运营 ", "permissions": [str(view_user), view_order, view_order]},
        headers=root_headers,
    )
    assert created.status_code == 201
    group = created.json_body
    assert (group["name"], group["permissions"]) == ("运营", sorted([view_order, view_user]))
    member = make_staff("ops_0001", group_ids=(group["id"],))

    listed = client.http.get(f"{BASE}/groups/?page=1&pagesize=10", headers=root_headers)
    simple = client.http.get(f"{BASE}/groups/simple/", headers=root_headers)
    changed = put_json(
        client,
        f"{BASE}/groups/{group['id']}/",
        {"name": "运营", "permissions": []},
        headers=root_headers,
    )
    deleted = client.http.delete(f"{BASE}/groups/{group['id']}/", headers=root_headers)

    assert listed.json_body["lists"] == [group]
    assert simple.json_body == [{"id": group["id"], "name": "运营"}]
    assert changed.status_code == 200 and changed.json_body["permissions"] == []
    assert deleted.status_code == 204
    assert client.http.get(f"{BASE}/groups/{group['id']}/", headers=root_headers).status_code == 404
    with transaction() as conn:
        assert conn.scalars(select(user_groups.c.group_id).where(
            user_groups.c.user_id == member.id
        )).all() == []  # fmt: skip


def test_a_group_name_is_unique(
    client: ShopClient, root_headers: dict[str, str], make_group: Any
) -> None:
    make_group("运营")
    other = make_group("客服")

    again = post_json(client, f"{BASE}/groups/", {"name": "运营"}, headers=root_headers)
    renamed_onto = put_json(
        client, f"{BASE}/groups/{other}/", {"name": "运营"}, headers=root_headers
    )
    kept = put_json(client, f"{BASE}/groups/{other}/", {"name": "客服"}, headers=root_headers)

    assert again.status_code == 400
    assert list(again.json_body) == ["name"]
    assert renamed_onto.status_code == 400
    assert list(renamed_onto.json_body) == ["name"]
    assert kept.status_code == 200


def test_a_group_with_an_unknown_permission_is_refused(
    client: ShopClient, root_headers: dict[str, str]
) -> None:
    (view_order,) = ids("view_order")
    response = post_json(
        client,
        f"{BASE}/groups/",
        {"name": "运营", "permissions": [view_order, 999_999_999]},
        headers=root_headers,
    )

    assert response.status_code == 400
    assert response.json_body == {
        "permissions": ['Invalid pk "999999999" - object does not exist.']
    }
    assert client.http.get(f"{BASE}/groups/simple/", headers=root_headers).json_body == []


# --- staff users -------------------------------------------------------------------------


def test_a_staff_user_is_created_with_groups_and_permissions_and_can_use_them(
    client: ShopClient, root_headers: dict[str, str], make_group: Any, make_user: Any
) -> None:
    group_id = make_group("运营", codenames=("view_user",))
    (view_order,) = ids("view_order")
    make_user("buyer_0001")  # a customer: not in the staff list

    created = post_json(
        client,
        f"{BASE}/admins/",
        {
            "username": "ops_0001",
            "password": "ops-password-1",
            "mobile": "13900000001",
            "email": "ops@example.com",
            "groups": [str(group_id)],
            "user_permissions": [view_order],
        },
        headers=root_headers,
    )
    login = post_json(
        client,
        "/meiduo_admin/authorizations/",
        {"username": "ops_0001", "password": "ops-password-1"},
    )
    ops_headers = {"Authorization": f"JWT {login.json_body['token']}"}
    listed = client.http.get(f"{BASE}/admins/", headers=root_headers)

    assert created.status_code == 201
    body = created.json_body
    assert body["groups"] == [group_id] and body["user_permissions"] == [view_order]
    assert (body["is_superuser"], body["mobile"]) == (False, "13900000001")
    assert "password" not in body
    assert login.status_code == 200
    assert client.http.get("/meiduo_admin/users/", headers=ops_headers).status_code == 200
    assert client.http.get("/meiduo_admin/orders/", headers=ops_headers).status_code == 200
    assert client.http.get("/meiduo_admin/skus/", headers=ops_headers).status_code == 403
    assert [u["username"] for u in listed.json_body["lists"]] == ["root_0001", "ops_0001"]
    assert all("password" not in u for u in listed.json_body["lists"])
    with transaction() as conn:
        stored = conn.scalar(select(users.c.password).where(users.c.id == body["id"]))
    assert stored.startswith("argon2$")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "ops-password-1"}, "username"),
        ({"username": "ops_0001"}, "password"),
        ({"username": "ops_0001", "password": "short"}, "password"),
        ({"username": "root_0001", "password": "ops-password-1"}, "username"),
        ({"username": "ops_0001", "password": "ops-password-1", "groups": [42]}, "groups"),
        (
            {"username": "ops_0001", "password": "ops-password-1", "user_permissions": ["x"]},
            "user_permissions.0",
        ),
        ({"username": "ops_0001", "password": "ops-password-1", "mobile": "123"}, "mobile"),
    ],
)
def test_a_bad_staff_user_is_refused_naming_the_field(
    client: ShopClient, root_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = post_json(client, f"{BASE}/admins/", body, headers=root_headers)

    assert response.status_code == 400
    assert list(response.json_body) == [field]


def test_a_change_keeps_the_password_unless_one_is_given(
    client: ShopClient, root_headers: dict[str, str], make_staff: Any, auth_headers: Any
) -> None:
    ops = make_staff("ops_0001", password="ops-password-1", mobile="13900000001")
    path = f"{BASE}/admins/{ops.id}/"
    shown = client.http.get(path, headers=root_headers).json_body
    ops_headers = auth_headers(ops)

    absent = put_json(client, path, {**shown, "email": "ops@example.com"}, headers=root_headers)
    empty = put_json(client, path, {**shown, "password": ""}, headers=root_headers)
    still = post_json(
        client,
        "/meiduo_admin/authorizations/",
        {"username": "ops_0001", "password": "ops-password-1"},
    )
    token_before = client.http.get("/user/", headers=ops_headers).status_code
    new = put_json(client, path, {**shown, "password": "new-password-2"}, headers=root_headers)

    assert "password" not in shown
    assert absent.status_code == empty.status_code == new.status_code == 200
    assert absent.json_body["email"] == "ops@example.com"
    assert still.status_code == 200
    assert token_before == 200
    # a new password ends the tokens issued before, as a password change does
    assert client.http.get("/user/", headers=ops_headers).status_code == 401
    assert (
        post_json(
            client,
            "/meiduo_admin/authorizations/",
            {"username": "ops_0001", "password": "new-password-2"},
        ).status_code
        == 200
    )


def test_a_customer_is_not_a_staff_user_here(
    client: ShopClient, root_headers: dict[str, str], make_user: Any
) -> None:
    customer = make_user("buyer_0001")

    for method in ("GET", "PUT", "DELETE"):
        response = client.http.request(
            method,
            f"{BASE}/admins/{customer.id}/",
            headers=root_headers,
            body=b'{"username": "buyer_0001"}' if method == "PUT" else b"",
        )
        assert response.status_code == 404, method


def test_removing_staff_rights_ends_every_token_they_hold_storefront_included(
    client: ShopClient,
    root_headers: dict[str, str],
    make_staff: Any,
    make_group: Any,
    auth_headers: Any,
) -> None:
    # given a staff user with a group, a direct permission and two tokens
    group_id = make_group("运营", codenames=("view_order",))
    ops = make_staff(
        "ops_0001", password="ops-password-1", codenames=("view_user",), group_ids=(group_id,)
    )
    admin_token = auth_headers(ops)
    storefront_token = auth_headers(ops)
    assert client.http.get("/meiduo_admin/users/", headers=admin_token).status_code == 200

    # when a superuser removes their staff rights
    removed = client.http.delete(f"{BASE}/admins/{ops.id}/", headers=root_headers)

    # then both tokens are refused everywhere, the account stays as a customer
    assert removed.status_code == 204
    for headers, path in ((admin_token, "/meiduo_admin/users/"), (storefront_token, "/user/")):
        response = client.http.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json_body["code"] == "token_revoked"
    with transaction() as conn:
        row = conn.execute(select(users).where(users.c.id == ops.id)).one()
        links = (
            conn.scalars(
                select(user_groups.c.group_id).where(user_groups.c.user_id == ops.id)
            ).all()
            + conn.scalars(
                select(user_permissions.c.permission_id).where(user_permissions.c.user_id == ops.id)
            ).all()
        )
    assert (row.is_staff, row.is_superuser, row.is_active, links) == (False, False, True, [])
    assert client.http.get(f"{BASE}/admins/{ops.id}/", headers=root_headers).status_code == 404
    storefront = post_json(
        client, "/authorizations/", {"username": "ops_0001", "password": "ops-password-1"}
    )
    admin = post_json(
        client,
        "/meiduo_admin/authorizations/",
        {"username": "ops_0001", "password": "ops-password-1"},
    )
    assert storefront.status_code == 200
    assert admin.status_code == 400


def test_no_one_removes_themselves(client: ShopClient, root: Any, root_headers: Any) -> None:
    response = client.http.delete(f"{BASE}/admins/{root.id}/", headers=root_headers)

    assert response.status_code == 409
    assert response.json_body["code"] == "cannot_remove_self"


def test_the_last_superuser_is_never_removed(
    client: ShopClient, root: Any, make_staff: Any, auth_headers: Any
) -> None:
    # a staff user allowed to remove staff users, and one superuser
    ops_headers = auth_headers(make_staff("ops_0001", codenames=("delete_admin",)))

    response = client.http.delete(f"{BASE}/admins/{root.id}/", headers=ops_headers)

    assert response.status_code == 409
    assert response.json_body["code"] == "last_superuser"
    with transaction() as conn:
        assert conn.scalar(select(users.c.is_superuser).where(users.c.id == root.id))


def test_only_a_superuser_changes_or_removes_a_superuser(
    client: ShopClient,
    root: Any,
    root_headers: dict[str, str],
    make_user: Any,
    make_staff: Any,
    auth_headers: Any,
) -> None:
    second = make_user("root_0002", is_staff=True, is_superuser=True)
    ops_headers = auth_headers(make_staff("ops_0001", codenames=("change_admin", "delete_admin")))
    path = f"{BASE}/admins/{second.id}/"

    changed = put_json(
        client, path, {"username": "root_0002", "password": "taken-over-1"}, headers=ops_headers
    )
    removed = client.http.delete(path, headers=ops_headers)
    by_root = client.http.delete(path, headers=root_headers)

    assert (changed.status_code, changed.json_body["code"]) == (403, "superuser_only")
    assert (removed.status_code, removed.json_body["code"]) == (403, "superuser_only")
    assert by_root.status_code == 204


def test_staff_without_the_admin_permissions_see_only_the_pick_lists(
    client: ShopClient, make_staff: Any, auth_headers: Any
) -> None:
    headers = auth_headers(make_staff("ops_0001", codenames=("view_order",)))

    for path in ("content_types/", "simple/", "groups/simple/"):
        assert client.http.get(f"{BASE}/{path}", headers=headers).status_code == 200, path
    for path in ("perms/", "groups/", "admins/"):
        assert client.http.get(f"{BASE}/{path}", headers=headers).status_code == 403, path


def test_a_staff_users_groups_and_own_permissions_are_shown_apart_each_by_id(
    client: ShopClient, root_headers: Any
) -> None:
    with transaction() as conn:
        later, earlier = factories.group(conn, "售后"), factories.group(conn, "运营")
        later, earlier = max(later, earlier), min(later, earlier)
        ops = factories.staff_user(
            conn, "ops_0001", codenames=("view_order", "add_user"), group_ids=(later, earlier)
        )

    shown = client.http.get(f"{BASE}/admins/{ops.id}/", headers=root_headers)

    assert shown.status_code == 200
    assert shown.json_body["groups"] == [earlier, later]
    assert shown.json_body["user_permissions"] == sorted(ids("view_order", "add_user"))
