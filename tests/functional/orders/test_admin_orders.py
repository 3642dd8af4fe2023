"""Admin orders: listing by part of the id, detail, and the staff's two legal moves."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import order_status_history
from chalicelib.services.order_states import Status, move
from tests.conftest import put_json
from tests.functional.orders.conftest import add_to_cart, place_order, stock_and_sales


@pytest.fixture
def staff_headers(make_user: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(make_user(is_staff=True, is_superuser=True)))


def _order(client: Any, buyer: Any, sku: int, count: int = 1) -> str:
    add_to_cart(client, buyer, sku, count)
    response = place_order(client, buyer)
    assert response.status_code == 201
    return str(response.json_body["order_id"])


def test_staff_list_all_orders_and_find_them_by_part_of_the_id(
    client: Any, make_buyer: Any, make_sku: Any, staff_headers: dict[str, str]
) -> None:
    sku = make_sku(stock=10)
    first_buyer, second_buyer = make_buyer(), make_buyer()
    first = _order(client, first_buyer, sku)
    second = _order(client, second_buyer, sku, 2)

    everything = client.http.get("/meiduo_admin/orders/", headers=staff_headers)
    found = client.http.get(f"/meiduo_admin/orders/?keyword={second[-12:]}", headers=staff_headers)
    wildcard = client.http.get("/meiduo_admin/orders/?keyword=%25", headers=staff_headers)

    assert everything.status_code == 200
    assert [o["order_id"] for o in everything.json_body["lists"]] == [second, first]
    assert [o["username"] for o in everything.json_body["lists"]] == [
        second_buyer.user.username,
        first_buyer.user.username,
    ]
    assert [o["order_id"] for o in found.json_body["lists"]] == [second]
    assert wildcard.json_body["count"] == 0


def test_staff_see_an_order_with_its_lines_and_refund_flag(
    client: Any, buyer: Any, make_sku: Any, staff_headers: dict[str, str]
) -> None:
    sku = make_sku(stock=10)
    order_id = _order(client, buyer, sku, 3)

    detail = client.http.get(f"/meiduo_admin/orders/{order_id}/", headers=staff_headers)
    missing = client.http.get("/meiduo_admin/orders/123/", headers=staff_headers)

    assert detail.status_code == 200
    body = detail.json_body
    assert (body["user_id"], body["needs_refund"], body["status"]) == (buyer.id, False, 1)
    assert [(line["sku_id"], line["count"]) for line in body["lines"]] == [(sku, 3)]
    assert missing.status_code == 404


def test_the_order_page_reads_the_buyer_and_each_line_as_the_console_does(
    client: Any, buyer: Any, make_sku: Any, make_order: Any, staff_headers: dict[str, str]
) -> None:
    from chalicelib.db.tables import skus

    # given an order of two SKUs, one with an image, whose price and name change afterwards
    pictured = make_sku(price="5999.00", stock=10, name="冰箱 470升", default_image="g1/M00/a.jpg")
    plain = make_sku(price="99.50", stock=10, name="电水壶")
    order_id = make_order(
        buyer.id,
        pictured,
        count=2,
        lines=[{"sku_id": plain, "name": "电水壶", "price": 9950, "count": 1}],
    )
    with transaction() as conn:
        conn.execute(skus.update().where(skus.c.id == pictured).values(name="冰箱 新款", price=1))

    # when staff open the order page
    detail = client.http.get(f"/meiduo_admin/orders/{order_id}/", headers=staff_headers)

    # then the buyer and the lines are there as the console reads them: the name and price
    # as ordered, the SKU's image as an absolute URL (null without one), and nothing of
    # today's fields is lost
    assert detail.status_code == 200
    body = detail.json_body
    assert body["user"] == body["username"] == buyer.user.username
    assert body["skus"] == [
        {
            "count": 2,
            "price": "5999.00",
            "sku": {
                "name": "冰箱 470升",
                "default_image_url": "http://testserver/media/g1/M00/a.jpg",
            },
        },
        {"count": 1, "price": "99.50", "sku": {"name": "电水壶", "default_image_url": None}},
    ]
    assert {"order_id", "status", "lines", "address", "user_id", "needs_refund"} <= set(body)
    assert [line["name"] for line in body["lines"]] == ["冰箱 470升", "电水壶"]


def test_buyers_are_not_staff(client: Any, buyer: Any) -> None:
    assert client.http.get("/meiduo_admin/orders/", headers=buyer.headers).status_code == 403
    assert client.http.get("/meiduo_admin/orders/").status_code == 401


def test_staff_ship_a_paid_order(
    client: Any, buyer: Any, make_sku: Any, staff_headers: dict[str, str], make_user: Any
) -> None:
    order_id = _order(client, buyer, make_sku())
    with transaction() as conn:
        move(conn, order_id, from_status=Status.UNPAID, to_status=Status.PAID, actor="test")

    shipped = put_json(
        client, f"/meiduo_admin/orders/{order_id}/status/", {"status": 3}, headers=staff_headers
    )
    again = put_json(
        client, f"/meiduo_admin/orders/{order_id}/status/", {"status": 3}, headers=staff_headers
    )

    assert (shipped.status_code, shipped.json_body["status"]) == (200, 3)
    assert (again.status_code, again.json_body["code"]) == (409, "invalid_status")
    with transaction() as conn:
        actors = (
            conn.execute(
                select(order_status_history.c.actor).where(
                    order_status_history.c.order_id == order_id,
                    order_status_history.c.to_status == 3,
                )
            )
            .scalars()
            .all()
        )
    assert len(actors) == 1 and actors[0].startswith("staff:")


def test_staff_cancel_an_unpaid_order_and_its_stock_returns(
    client: Any, buyer: Any, make_sku: Any, staff_headers: dict[str, str]
) -> None:
    sku = make_sku(stock=5)
    order_id = _order(client, buyer, sku, 2)

    cancelled = put_json(
        client, f"/meiduo_admin/orders/{order_id}/status/", {"status": 6}, headers=staff_headers
    )

    assert (cancelled.status_code, cancelled.json_body["status"]) == (200, 6)
    assert stock_and_sales(sku) == (5, 0)


@pytest.mark.parametrize(
    ("status", "expected"), [(2, 409), (4, 409), (5, 409), (3, 409), (7, 400), ("3", 400)]
)
def test_other_moves_are_refused(
    client: Any,
    buyer: Any,
    make_sku: Any,
    staff_headers: dict[str, str],
    status: Any,
    expected: int,
) -> None:
    sku = make_sku(stock=5)
    order_id = _order(client, buyer, sku, 2)
    response = put_json(
        client,
        f"/meiduo_admin/orders/{order_id}/status/",
        {"status": status},
        headers=staff_headers,
    )
    assert response.status_code == expected
    detail = client.http.get(f"/meiduo_admin/orders/{order_id}/", headers=staff_headers)
    assert detail.json_body["status"] == 1
    assert stock_and_sales(sku) == (3, 2)
