"""The meiduo admin console's permission pages (权限管理, 用户组管理, 管理员管理), replayed.

Each call below is one the Vue console makes, as it makes it: the method and path, the
`Authorization: JWT <token>` header, the query parameters, the body as its forms build
it (text fields as strings, ids as the numbers its pickers hold, or as strings where a
form value passes through text; a field it never filled left out, as JSON.stringify
drops `undefined`), and the fields its pages then read. The statuses it branches on are
checked too: 201 after an add, 400 with `name` or `non_field_errors` to show, 404 on a
delete. Runs on both databases like every functional test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import ShopClient

API = "/meiduo_admin"


@dataclass
class Answer:
    status: int
    data: Any


class Console:
    """What the console's axios calls send (constant.js's `apis` base + a path)."""

    def __init__(self, client: ShopClient) -> None:
        self.client = client
        self.token = ""

    def log_in(self, username: str, password: str) -> Answer:
        # Login.vue: POST /authorizations/ {username, password}; keeps data.token
        answer = self.call("POST", "/authorizations/", {"username": username, "password": password})
        if answer.status == 200:
            self.token = answer.data["token"]
        return answer

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if self.token:
            headers["Authorization"] = "JWT " + self.token
        url = API + path + ("?" + urlencode(params) if params else "")
        raw = json.dumps(body).encode() if body is not None else b""
        response = self.client.http.request(method, url, headers=headers, body=raw)
        data = json.loads(response.body) if response.body else None
        return Answer(response.status_code, data)


def reads(item: dict[str, Any], *fields: str) -> None:
    """The fields a page reads from an item are there."""
    missing = [field for field in fields if field not in item]
    assert missing == [], f"the console reads {missing}, absent from {sorted(item)}"


def reads_page(answer: Answer) -> list[Any]:
    """The list pages read data.lists, data.page and data.pages."""
    assert answer.status == 200, answer.data
    reads(answer.data, "lists", "page", "pages")
    return list(answer.data["lists"])


@pytest.fixture
def console(client: ShopClient, make_user: Any) -> Console:
    make_user("admin_001", "Admin12345", is_staff=True, is_superuser=True)
    console = Console(client)
    assert console.log_in("admin_001", "Admin12345").status == 200
    return console


def test_the_permissions_page(console: Console) -> None:
    # Authority.vue: the table, page 1, ordered by id
    rows = reads_page(console.call("GET", "/permission/perms/", params={
        "page": 1, "pagesize": 10, "ordering": "id"
    }))  # fmt: skip
    for row in rows:
        reads(row, "id", "name", "codename")

    # AddAuthor.vue: the content type select, then the form (content_type from the select)
    types = console.call("GET", "/permission/content_types/")
    assert types.status == 200
    for item in types.data:
        reads(item, "id", "name")
    order_type = next(t["id"] for t in types.data if t["name"] == "订单")
    added = console.call("POST", "/permission/perms/", {
        "name": "导出订单", "codename": "export_order", "content_type": order_type
    })  # fmt: skip
    assert added.status == 201, added.data
    # the same codename again: a 400 the form shows through errmsg.name/non_field_errors
    # (it names codename here, which the form ignores, as DRF's would)
    again = console.call("POST", "/permission/perms/", {
        "name": "导出订单", "codename": "export_order", "content_type": order_type
    })  # fmt: skip
    assert again.status == 400

    # AuthorityTable.vue: edit (GET for the content type, PUT the form), then delete
    perm_id = added.data["id"]
    shown = console.call("GET", f"/permission/perms/{perm_id}/")
    assert shown.status == 200
    reads(shown.data, "content_type")
    assert shown.data["content_type"] == order_type
    changed = console.call("PUT", f"/permission/perms/{perm_id}/", {
        "name": "导出全部订单",
        "codename": "export_order",
        "content_type": shown.data["content_type"],
    })  # fmt: skip
    assert changed.status == 200
    last_page = console.call("GET", "/permission/perms/", params={
        "page": 6, "pagesize": 10, "ordering": "id"
    })  # fmt: skip
    assert reads_page(last_page)[-1]["name"] == "导出全部订单"
    assert console.call("DELETE", f"/permission/perms/{perm_id}/").status == 204
    assert console.call("DELETE", f"/permission/perms/{perm_id}/").status == 404


def test_the_groups_page(console: Console) -> None:
    # AddGroup.vue: the permission transfer list (key = id, label = name), then the form
    simple = console.call("GET", "/permission/simple/")
    assert simple.status == 200
    for item in simple.data:
        reads(item, "id", "name")
    chosen = [item["id"] for item in simple.data[:3]]
    added = console.call("POST", "/permission/groups/", {"name": "运营", "permissions": chosen})
    assert added.status == 201, added.data
    taken = console.call("POST", "/permission/groups/", {"name": "运营", "permissions": []})
    assert taken.status == 400
    assert taken.data["name"][0]  # shown as err.response.data.name[0]

    # Group.vue: the table
    rows = reads_page(console.call("GET", "/permission/groups/", params={
        "page": 1, "pagesize": 10
    }))  # fmt: skip
    reads(rows[0], "id", "name")

    # GroupTable.vue: edit (GET name + permissions into the transfer, PUT them back)
    group_id = rows[0]["id"]
    shown = console.call("GET", f"/permission/groups/{group_id}/")
    assert shown.status == 200
    reads(shown.data, "name", "permissions")
    assert sorted(shown.data["permissions"]) == sorted(chosen)
    # a transfer's keys may come back as strings when the page rebuilt them
    changed = console.call("PUT", f"/permission/groups/{group_id}/", {
        "name": shown.data["name"], "permissions": [str(chosen[0])]
    })  # fmt: skip
    assert changed.status == 200
    assert console.call("GET", f"/permission/groups/{group_id}/").data["permissions"] == [chosen[0]]
    assert console.call("DELETE", f"/permission/groups/{group_id}/").status == 204
    assert console.call("DELETE", f"/permission/groups/{group_id}/").status == 404


def test_the_admins_page(console: Console, client: ShopClient) -> None:
    # AddAdmin.vue: both transfer lists, then the form
    perms = console.call("GET", "/permission/simple/")
    groups = console.call("GET", "/permission/groups/simple/")
    assert (perms.status, groups.status) == (200, 200)
    group = console.call("POST", "/permission/groups/", {
        "name": "运营", "permissions": [p["id"] for p in perms.data if p["name"] == "查看订单"]
    }).data  # fmt: skip
    groups = console.call("GET", "/permission/groups/simple/")
    for item in groups.data:
        reads(item, "id", "name")
    view_user = next(p["id"] for p in perms.data if p["name"] == "查看用户")
    added = console.call("POST", "/permission/admins/", {
        "username": "yunying01",
        "password": "Yunying123",
        "mobile": "13912345678",
        "email": "",
        "groups": [group["id"]],
        "user_permissions": [view_user],
    })  # fmt: skip
    assert added.status == 201, added.data

    # Admin.vue: the table
    rows = reads_page(console.call("GET", "/permission/admins/", params={
        "page": 1, "pagesize": 10
    }))  # fmt: skip
    for row in rows:
        reads(row, "id", "username", "email", "mobile")
        assert "password" not in row
    admin_id = next(row["id"] for row in rows if row["username"] == "yunying01")

    # AdminTable.vue: edit. It copies data.password (never sent: undefined) into the form
    # and PUTs the form back, so the password is left out and must stay
    shown = console.call("GET", f"/permission/admins/{admin_id}/")
    assert shown.status == 200
    reads(shown.data, "username", "mobile", "email", "groups", "user_permissions")
    assert "password" not in shown.data
    assert (shown.data["groups"], shown.data["user_permissions"]) == ([group["id"]], [view_user])
    form = {
        "username": shown.data["username"],
        "mobile": shown.data["mobile"],
        "email": "yy@example.com",
        "groups": shown.data["groups"],
        "user_permissions": [],
    }
    changed = console.call("PUT", f"/permission/admins/{admin_id}/", form)
    assert changed.status == 200, changed.data

    # the new staff user logs in with the password they were given, and may view orders
    # (through 运营) but no longer users (the direct permission was taken away)
    staff = Console(client)
    assert staff.log_in("yunying01", "Yunying123").status == 200
    assert staff.call("GET", "/orders/", params={"page": 1, "pagesize": 10}).status == 200
    assert staff.call("GET", "/users/", params={"page": 1, "pagesize": 10}).status == 403

    # a staff user without a mobile number comes back with null, and goes back as it came
    no_mobile = console.call("POST", "/permission/admins/", {
        "username": "kefu0001", "password": "Kefu12345", "mobile": "", "email": "",
        "groups": [], "user_permissions": [],
    })  # fmt: skip
    assert no_mobile.status == 201, no_mobile.data
    shown = console.call("GET", f"/permission/admins/{no_mobile.data['id']}/").data
    assert shown["mobile"] is None
    again = console.call("PUT", f"/permission/admins/{no_mobile.data['id']}/", {
        "username": shown["username"], "mobile": shown["mobile"], "email": shown["email"],
        "groups": shown["groups"], "user_permissions": shown["user_permissions"],
    })  # fmt: skip
    assert again.status == 200, again.data

    # delete: the staff user's token stops working; a second delete is the page's 404
    assert console.call("DELETE", f"/permission/admins/{admin_id}/").status == 204
    assert staff.call("GET", "/orders/").status == 401
    assert console.call("DELETE", f"/permission/admins/{admin_id}/").status == 404


def test_the_order_page(console: Console, make_user: Any, make_sku: Any, make_order: Any) -> None:
    # OrderDetail.vue: GET /orders/{id}/ reads order_id, create_time, user, total_count,
    # total_amount, freight, pay_method, status and skus[].{sku.default_image_url,
    # sku.name, price, count}
    buyer = make_user("buyer_0001")
    order_id = make_order(buyer.id, make_sku(price="1999.00", default_image="g1/M00/x.jpg"))

    shown = console.call("GET", f"/orders/{order_id}/")

    assert shown.status == 200
    reads(shown.data, "order_id", "create_time", "user", "total_count", "total_amount")
    reads(shown.data, "freight", "pay_method", "status", "skus")
    assert shown.data["user"] == "buyer_0001"
    line = shown.data["skus"][0]
    reads(line, "sku", "price", "count")
    reads(line["sku"], "name", "default_image_url")
    assert line["price"] == "1999.00"
    assert line["sku"]["default_image_url"].startswith("http")
