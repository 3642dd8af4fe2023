"""The buyer's orders: listing, detail, cancel, balance payment, receipt and comments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text

from chalicelib.db.engine import transaction
from chalicelib.db.tables import balance_records, order_lines, order_status_history, skus
from chalicelib.services.order_states import Status, move
from tests.conftest import post_json
from tests.functional.orders.conftest import (
    add_to_cart,
    balance_of,
    place_order,
    row_counts,
    stock_and_sales,
)


def _order(
    client: Any, buyer: Any, *sku_counts: tuple[int, int], pay_method: str = "balance"
) -> str:
    for sku_id, count in sku_counts:
        add_to_cart(client, buyer, sku_id, count)
    response = place_order(client, buyer, pay_method)
    assert response.status_code == 201, response.body
    return str(response.json_body["order_id"])


def _set_status(order_id: str, *moves: tuple[Status, Status]) -> None:
    with transaction() as conn:
        for from_status, to_status in moves:
            assert move(conn, order_id, from_status=from_status, to_status=to_status, actor="test")


def test_orders_are_listed_newest_first_with_lines_and_filtered_by_status(
    client: Any, buyer: Any, make_buyer: Any, make_sku: Any
) -> None:
    # given three orders of the buyer (one cancelled) and one of someone else
    sku = make_sku(stock=50)
    first = _order(client, buyer, (sku, 1))
    second = _order(client, buyer, (sku, 2))
    third = _order(client, buyer, (sku, 3))
    client.http.post(f"/orders/{second}/cancel/", headers=buyer.headers)
    _order(client, make_buyer(), (sku, 1))

    # when the buyer lists them, all, by page, and the unpaid ones
    everything = client.http.get("/orders/", headers=buyer.headers).json_body
    paged = client.http.get("/orders/?page=2&pagesize=2", headers=buyer.headers).json_body
    unpaid = client.http.get("/orders/?status=1", headers=buyer.headers).json_body

    # then only the buyer's orders show, newest first, each with its lines
    assert [o["order_id"] for o in everything["lists"]] == [third, second, first]
    assert [o["lines"][0]["count"] for o in everything["lists"]] == [3, 2, 1]
    assert (everything["count"], everything["pages"]) == (3, 1)
    assert [o["order_id"] for o in paged["lists"]] == [first]
    assert (paged["count"], paged["page"], paged["pages"]) == (3, 2, 2)
    assert [o["order_id"] for o in unpaid["lists"]] == [third, first]
    assert [o["status_name"] for o in everything["lists"]] == ["待支付", "已取消", "待支付"]


@pytest.mark.parametrize("query", ["status=7", "status=0", "status=x", "page=0"])
def test_bad_list_parameters_are_400(client: Any, buyer: Any, query: str) -> None:
    assert client.http.get(f"/orders/?{query}", headers=buyer.headers).status_code == 400


def test_other_users_orders_are_not_found(
    client: Any, buyer: Any, make_buyer: Any, make_sku: Any
) -> None:
    # given an unpaid order of another user who has money
    other = make_buyer(balance="1000.00")
    sku = make_sku(stock=5)
    order_id = _order(client, other, (sku, 1))
    _order(client, buyer, (sku, 1))

    # when the buyer reads, cancels, pays, receives or comments on it
    responses = [
        client.http.get(f"/orders/{order_id}/", headers=buyer.headers),
        client.http.post(f"/orders/{order_id}/cancel/", headers=buyer.headers),
        client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers),
        client.http.post(f"/orders/{order_id}/receipt/", headers=buyer.headers),
        post_json(
            client,
            f"/orders/{order_id}/comments/",
            {"comments": [{"sku_id": sku, "score": 1, "content": "x"}]},
            headers=buyer.headers,
        ),
        client.http.get("/orders/not-an-id/", headers=buyer.headers),
    ]

    # then every one is 404 and the order is untouched
    assert [r.status_code for r in responses] == [404] * 6
    assert client.http.get(f"/orders/{order_id}/", headers=other.headers).json_body["status"] == 1
    assert balance_of(other.id) == 100000
    assert stock_and_sales(sku) == (3, 2)


def test_cancelling_returns_the_stock_and_a_second_cancel_is_a_conflict(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    sku = make_sku(stock=5)
    order_id = _order(client, buyer, (sku, 2))

    cancelled = client.http.post(f"/orders/{order_id}/cancel/", headers=buyer.headers)
    again = client.http.post(f"/orders/{order_id}/cancel/", headers=buyer.headers)

    assert (cancelled.status_code, cancelled.json_body["status"]) == (200, 6)
    assert (again.status_code, again.json_body["code"]) == (409, "invalid_status")
    assert stock_and_sales(sku) == (5, 0)


def test_paying_from_the_balance_debits_it_once_and_writes_the_ledger(
    client: Any, make_buyer: Any, make_sku: Any
) -> None:
    # given 150.00 in the wallet and an unpaid balance order of 120.00
    buyer = make_buyer(balance="150.00")
    order_id = _order(client, buyer, (make_sku(price="120.00"), 1))

    # when the buyer pays, twice
    paid = client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers)
    again = client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers)

    # then the order is paid, 30.00 remain, and one ledger row says so
    assert paid.status_code == 200
    assert (paid.json_body["status"], paid.json_body["status_name"]) == (2, "待发货")
    assert paid.json_body["paid_at"] is not None
    assert (again.status_code, again.json_body["code"]) == (409, "invalid_status")
    assert balance_of(buyer.id) == 3000
    records = client.http.get("/user/balance/records/", headers=buyer.headers).json_body
    assert [
        (r["kind"], r["amount"], r["order_id"], r["balance_after"]) for r in records["lists"]
    ] == [("payment", "-120.00", order_id, "30.00")]
    with transaction() as conn:
        history = conn.execute(
            select(order_status_history.c.to_status, order_status_history.c.actor).where(
                order_status_history.c.order_id == order_id
            )
        ).all()
    assert sorted(tuple(h) for h in history) == [(1, f"user:{buyer.id}"), (2, f"user:{buyer.id}")]


def test_a_short_balance_is_a_conflict_and_changes_nothing(
    client: Any, make_buyer: Any, make_sku: Any
) -> None:
    buyer = make_buyer(balance="50.00")
    sku = make_sku(price="120.00")
    order_id = _order(client, buyer, (sku, 1))

    response = client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers)

    assert (response.status_code, response.json_body["code"]) == (409, "insufficient_balance")
    assert balance_of(buyer.id) == 5000
    assert client.http.get(f"/orders/{order_id}/", headers=buyer.headers).json_body["status"] == 1
    assert row_counts()["balance_records"] == 0
    assert row_counts()["order_status_history"] == 1


def test_an_order_past_its_payment_deadline_cannot_be_paid(
    client: Any, make_buyer: Any, make_sku: Any
) -> None:
    buyer = make_buyer(balance="500.00")
    order_id = _order(client, buyer, (make_sku(price="120.00"), 1))
    with transaction() as conn:
        conn.execute(
            text("UPDATE orders SET expires_at = create_time WHERE order_id = :id"),
            {"id": order_id},
        )
    response = client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers)
    assert (response.status_code, response.json_body["code"]) == (409, "invalid_status")
    assert balance_of(buyer.id) == 50000


def test_an_alipay_order_gets_the_url_of_alipays_pay_page(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    """Needs services.payments (the Alipay area): alipay_page_pay_url(order_row)."""
    order_id = _order(client, buyer, (make_sku(price="120.00"), 1), pay_method="alipay")

    response = client.http.post(f"/orders/{order_id}/payment/", headers=buyer.headers)

    assert response.status_code == 200
    assert set(response.json_body) == {"pay_url"}
    assert order_id in response.json_body["pay_url"]
    assert client.http.get(f"/orders/{order_id}/", headers=buyer.headers).json_body["status"] == 1


def test_receipt_moves_a_shipped_order_only(client: Any, buyer: Any, make_sku: Any) -> None:
    order_id = _order(client, buyer, (make_sku(), 1))
    early = client.http.post(f"/orders/{order_id}/receipt/", headers=buyer.headers)
    _set_status(order_id, (Status.UNPAID, Status.PAID), (Status.PAID, Status.SHIPPED))

    received = client.http.post(f"/orders/{order_id}/receipt/", headers=buyer.headers)

    assert (early.status_code, early.json_body["code"]) == (409, "invalid_status")
    assert (received.status_code, received.json_body["status"]) == (200, 4)


def test_comments_on_every_line_complete_the_order_and_count_on_the_skus(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given a received order of two SKUs
    first, second = make_sku(), make_sku()
    order_id = _order(client, buyer, (first, 1), (second, 2))
    _set_status(
        order_id,
        (Status.UNPAID, Status.PAID),
        (Status.PAID, Status.SHIPPED),
        (Status.SHIPPED, Status.RECEIVED),
    )
    comments = [
        {"sku_id": second, "score": 4, "content": "  制冷很快  ", "anonymous": True},
        {"sku_id": first, "score": 5, "content": "很好"},
    ]

    # when the buyer comments on both, then tries again
    done = post_json(
        client, f"/orders/{order_id}/comments/", {"comments": comments}, headers=buyer.headers
    )
    again = post_json(
        client, f"/orders/{order_id}/comments/", {"comments": comments}, headers=buyer.headers
    )

    # then the order is completed, each line carries its comment, each SKU counts one
    assert done.status_code == 201
    assert done.json_body["status"] == 5
    assert [
        (line["sku_id"], line["score"], line["comment"], line["anonymous"])
        for line in done.json_body["lines"]
    ] == [
        (first, 5, "很好", False),
        (second, 4, "制冷很快", True),
    ]
    assert all(line["commented_at"] for line in done.json_body["lines"])
    assert (again.status_code, again.json_body["code"]) == (409, "invalid_status")
    with transaction() as conn:
        counts = {row.id: row.comments for row in conn.execute(select(skus.c.id, skus.c.comments))}
    assert counts == {first: 1, second: 1}


@pytest.mark.parametrize(
    "comments",
    [
        "only-first",
        "duplicate",
        "foreign",
        [{"score": 6, "content": "x"}],
        [{"score": 0, "content": "x"}],
        [{"score": 5, "content": "   "}],
        [{"score": 5, "content": "x" * 501}],
    ],
)
def test_bad_comments_are_400_and_change_nothing(
    client: Any, buyer: Any, make_sku: Any, comments: Any
) -> None:
    # given a received order of two SKUs
    first, second = make_sku(), make_sku()
    order_id = _order(client, buyer, (first, 1), (second, 1))
    _set_status(
        order_id,
        (Status.UNPAID, Status.PAID),
        (Status.PAID, Status.SHIPPED),
        (Status.SHIPPED, Status.RECEIVED),
    )
    good = {"score": 5, "content": "好"}
    body = (
        {
            "only-first": [{"sku_id": first, **good}],
            "duplicate": [
                {"sku_id": first, **good},
                {"sku_id": first, **good},
                {"sku_id": second, **good},
            ],
            "foreign": [
                {"sku_id": first, **good},
                {"sku_id": second, **good},
                {"sku_id": 999, **good},
            ],
        }.get(comments)
        if isinstance(comments, str)
        else [
            {"sku_id": first, **comments[0]},
            {"sku_id": second, **good},
        ]
    )

    response = post_json(
        client, f"/orders/{order_id}/comments/", {"comments": body}, headers=buyer.headers
    )

    assert response.status_code == 400
    assert client.http.get(f"/orders/{order_id}/", headers=buyer.headers).json_body["status"] == 4
    with transaction() as conn:
        assert (
            conn.scalar(select(order_lines.c.score).where(order_lines.c.score.is_not(None))) is None
        )
        assert {row.comments for row in conn.execute(select(skus.c.comments))} == {0}


def test_unpaid_orders_cannot_be_commented(client: Any, buyer: Any, make_sku: Any) -> None:
    sku = make_sku()
    order_id = _order(client, buyer, (sku, 1))
    response = client.http.post(
        f"/orders/{order_id}/comments/",
        body=json.dumps({"comments": [{"sku_id": sku, "score": 5, "content": "好"}]}),
        headers=buyer.headers,
    )
    assert (response.status_code, response.json_body["code"]) == (409, "invalid_status")
    with transaction() as conn:
        assert conn.scalar(select(balance_records.c.id)) is None
