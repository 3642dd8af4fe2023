"""Checkout: settlement, placing an order, idempotency, and nothing taken on any error."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from chalicelib.db.engine import transaction
from chalicelib.db.tables import addresses, orders
from chalicelib.services.orders import stored_idempotency_key
from tests.conftest import post_json
from tests.functional.orders.conftest import (
    add_to_cart,
    cart_of,
    place_order,
    row_counts,
    stock_and_sales,
)

NOTHING = {"orders": 0, "order_lines": 0, "order_status_history": 0, "balance_records": 0}


def test_settlement_shows_the_selected_lines_and_the_freight(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given a selected 50.00 line and an unselected one
    cheap, other = make_sku(price="50.00"), make_sku(price="500.00")
    add_to_cart(client, buyer, cheap, 1)
    add_to_cart(client, buyer, other, 1, selected=False)

    # when the buyer asks what an order would cost
    response = client.http.get("/orders/settlement/", headers=buyer.headers)

    # then only the selected line counts, and below 99.00 the freight is 10.00
    body = response.json_body
    assert response.status_code == 200
    assert [item["sku_id"] for item in body["items"]] == [cheap]
    assert [a["id"] for a in body["addresses"]] == [buyer.address_id]
    assert (body["total_count"], body["total_amount"], body["freight"], body["payment_amount"]) == (
        1,
        "50.00",
        "10.00",
        "60.00",
    )


def test_placing_an_order_takes_the_stock_and_removes_only_the_ordered_lines_from_the_cart(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given 2 x 60.00 and 1 x 5.50 selected, and an unselected line
    first, second, kept = make_sku(price="60.00", stock=5), make_sku(price="5.50"), make_sku()
    add_to_cart(client, buyer, first, 2)
    add_to_cart(client, buyer, second, 1)
    add_to_cart(client, buyer, kept, 1, selected=False)

    # when the buyer places an order
    before = datetime.now().astimezone()
    response = place_order(client, buyer, "alipay")

    # then it is unpaid, priced from the catalogue, free of freight from 99.00, due in 30 min
    assert response.status_code == 201
    body = response.json_body
    assert re.fullmatch(r"[0-9]{32}", body["order_id"])
    assert body["order_id"].endswith(f"{buyer.id:08d}" + body["order_id"][-4:])
    assert (body["status"], body["status_name"], body["pay_method"]) == (1, "待支付", "alipay")
    assert (body["total_count"], body["total_amount"], body["freight"], body["payment_amount"]) == (
        3,
        "125.50",
        "0.00",
        "125.50",
    )
    assert [(line["sku_id"], line["price"], line["count"]) for line in body["lines"]] == [
        (first, "60.00", 2),
        (second, "5.50", 1),
    ]
    expires = datetime.fromisoformat(body["expires_at"])
    created = datetime.fromisoformat(body["create_time"])
    assert expires - created == timedelta(minutes=30)
    assert abs(created - before) < timedelta(seconds=10)
    assert body["address"] == {
        "receiver": "张三",
        "province": "北京市",
        "city": "北京市",
        "district": "海淀区",
        "place": "中关村大街1号",
        "mobile": "13800138000",
    }
    assert stock_and_sales(first) == (3, 2)
    assert stock_and_sales(second) == (9, 1)
    assert cart_of(redis, buyer.id) == ({str(kept): "1"}, set())


def test_the_address_is_a_snapshot(client: Any, buyer: Any, make_sku: Any) -> None:
    add_to_cart(client, buyer, make_sku())
    order_id = place_order(client, buyer).json_body["order_id"]
    with transaction() as conn:
        conn.execute(addresses.update().values(receiver="李四", place="别处"))
    detail = client.http.get(f"/orders/{order_id}/", headers=buyer.headers).json_body
    assert (detail["address"]["receiver"], detail["address"]["place"]) == ("张三", "中关村大街1号")


def test_out_of_stock_names_every_short_sku_and_takes_nothing(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given a cart of 2 + 3 + 1 units, and the stock then drops below two of them
    plenty, short, shorter = make_sku(stock=10), make_sku(stock=5), make_sku(stock=5)
    add_to_cart(client, buyer, plenty, 2)
    add_to_cart(client, buyer, short, 3)
    add_to_cart(client, buyer, shorter, 1)
    with transaction() as conn:
        conn.execute(text("UPDATE skus SET stock = 2 WHERE id = :id"), {"id": short})
        conn.execute(text("UPDATE skus SET stock = 0 WHERE id = :id"), {"id": shorter})
    cart_before = cart_of(redis, buyer.id)

    # when the buyer places the order
    response = place_order(client, buyer)

    # then 409 with what is left of each short SKU; nothing taken, the cart as it was
    assert response.status_code == 409
    assert response.json_body == {
        "detail": "Not enough stock.",
        "code": "out_of_stock",
        "skus": {str(short): 2, str(shorter): 0},
    }
    assert stock_and_sales(plenty) == (10, 0)
    assert stock_and_sales(short) == (2, 0)
    assert row_counts() == NOTHING
    assert cart_of(redis, buyer.id) == cart_before


def test_an_unlaunched_sku_in_the_cart_is_out_of_stock(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    with transaction() as conn:
        conn.execute(
            text("UPDATE skus SET is_launched = :no WHERE id = :id"), {"no": False, "id": sku}
        )
    response = place_order(client, buyer)
    assert (response.status_code, response.json_body["skus"]) == (409, {str(sku): 0})
    assert stock_and_sales(sku) == (5, 0)
    assert row_counts() == NOTHING


def test_a_deleted_sku_in_the_cart_is_out_of_stock(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    with transaction() as conn:
        conn.execute(
            text("UPDATE skus SET is_deleted = :yes WHERE id = :id"), {"yes": True, "id": sku}
        )
    response = place_order(client, buyer)
    assert (response.status_code, response.json_body["skus"]) == (409, {str(sku): 0})
    assert stock_and_sales(sku) == (5, 0)
    assert row_counts() == NOTHING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pay_method": "balance"}, "address_id"),
        ({"address_id": "1", "pay_method": "balance"}, "address_id"),
        ({"address_id": 1, "pay_method": "cash"}, "pay_method"),
        ({"address_id": 1}, "pay_method"),
    ],
)
def test_bad_bodies_are_400_with_nothing_taken(
    client: Any, buyer: Any, make_sku: Any, redis: Any, body: dict[str, Any], field: str
) -> None:
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    response = post_json(client, "/orders/", body, headers=buyer.headers)
    assert response.status_code == 400
    assert field in response.json_body
    assert stock_and_sales(sku) == (5, 0)
    assert row_counts() == NOTHING
    assert cart_of(redis, buyer.id) == ({str(sku): "1"}, {str(sku)})


def test_another_users_address_is_400_with_nothing_taken(
    client: Any, buyer: Any, make_buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given another user's address id
    other = make_buyer()
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)

    # when the buyer orders to it (and to an id that does not exist)
    responses = [
        post_json(
            client,
            "/orders/",
            {"address_id": address_id, "pay_method": "balance"},
            headers=buyer.headers,
        )
        for address_id in (other.address_id, 999_999)
    ]

    # then both are 400 on address_id, nothing taken, the cart unchanged
    for response in responses:
        assert response.status_code == 400
        assert response.json_body == {"address_id": ["No such address."]}
    assert stock_and_sales(sku) == (5, 0)
    assert row_counts() == NOTHING
    assert cart_of(redis, buyer.id) == ({str(sku): "1"}, {str(sku)})


def test_nothing_selected_is_400(client: Any, buyer: Any, make_sku: Any) -> None:
    add_to_cart(client, buyer, make_sku(), 1, selected=False)
    response = place_order(client, buyer)
    assert response.status_code == 400
    assert response.json_body == {"non_field_errors": ["Select at least one cart item to order."]}
    assert row_counts() == NOTHING


def test_forged_prices_and_lines_in_the_body_are_ignored(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    sku = make_sku(price="1000.00", stock=5)
    add_to_cart(client, buyer, sku, 1)
    response = post_json(
        client,
        "/orders/",
        {
            "address_id": buyer.address_id,
            "pay_method": "balance",
            "total_amount": "0.01",
            "payment_amount": "0.01",
            "lines": [{"sku_id": sku, "count": 5, "price": "0.01"}],
        },
        headers=buyer.headers,
    )
    assert response.status_code == 201
    body = response.json_body
    assert (body["payment_amount"], body["total_count"], body["lines"][0]["price"]) == (
        "1000.00",
        1,
        "1000.00",
    )
    assert stock_and_sales(sku) == (4, 1)


def test_a_repeated_idempotency_key_returns_the_first_order_and_takes_nothing_again(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given an order placed with an Idempotency-Key, and the same SKU added again
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 2)
    first = place_order(client, buyer, **{"Idempotency-Key": "checkout-1"})
    add_to_cart(client, buyer, sku, 1)

    # when the same request is sent again with the same key
    again = place_order(client, buyer, **{"Idempotency-Key": "checkout-1"})

    # then it answers 201 with the same order; the stock was taken once; the cart is kept
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    assert stock_and_sales(sku) == (3, 2)
    assert row_counts()["orders"] == 1
    cart = client.http.get("/cart/", headers=buyer.headers).json_body
    assert [(i["sku_id"], i["count"]) for i in cart["items"]] == [(sku, 1)]


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    client: Any, buyer: Any, make_sku: Any, make_buyer: Any
) -> None:
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    assert place_order(client, buyer, "balance", **{"Idempotency-Key": "k-1"}).status_code == 201
    add_to_cart(client, buyer, sku, 1)

    conflict = place_order(client, buyer, "alipay", **{"Idempotency-Key": "k-1"})

    assert conflict.status_code == 409
    assert conflict.json_body["code"] == "idempotency_conflict"
    assert stock_and_sales(sku) == (4, 1)
    # another user may use the same key for their own order
    other = make_buyer()
    add_to_cart(client, other, sku, 1)
    assert place_order(client, other, "alipay", **{"Idempotency-Key": "k-1"}).status_code == 201


def test_a_checkout_between_a_commit_and_its_cart_clean_up_does_not_order_the_cart_again(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given a checkout, and a second one (a double click, no Idempotency-Key) that runs once
    # the first has committed but before its after-commit hook empties the cart: a hook
    # registered first runs first. On MariaDB, 8 such requests at once placed 2 orders
    # about one time in six.
    from chalicelib.db.engine import after_commit
    from chalicelib.services import orders as order_service

    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 2)
    second: list[Any] = []
    with transaction() as conn:
        after_commit(conn, lambda _begin: second.append(place_order(client, buyer)))
        order_service.place(
            conn, redis, user_id=buyer.id, address_id=buyer.address_id, pay_method="balance"
        )

    # then the second finds nothing left to order: one order, the stock taken once
    assert second[0].status_code == 400, second[0].json_body
    assert list(second[0].json_body) == ["non_field_errors"]
    assert row_counts()["orders"] == 1
    assert stock_and_sales(sku) == (3, 2)
    assert cart_of(redis, buyer.id) == ({}, set())


def test_idempotency_keys_that_differ_only_in_letter_case_are_two_keys(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given an order placed with the key "Checkout-1" (MariaDB's utf8mb4_unicode_ci took
    # "checkout-1" for the same key: the second order was refused 409 idempotency_conflict)
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    first = place_order(client, buyer, **{"Idempotency-Key": "Checkout-1"})
    add_to_cart(client, buyer, sku, 1)

    # when another checkout comes with "checkout-1"
    second = place_order(client, buyer, **{"Idempotency-Key": "checkout-1"})

    # then it is a new order, and each key replays its own
    assert (first.status_code, second.status_code) == (201, 201), second.json_body
    assert second.json_body["order_id"] != first.json_body["order_id"]
    assert stock_and_sales(sku) == (3, 2)
    again = place_order(client, buyer, **{"Idempotency-Key": "Checkout-1"})
    assert again.json_body["order_id"] == first.json_body["order_id"]


def test_an_idempotency_key_older_than_24_hours_starts_a_new_order(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 1)
    first = place_order(client, buyer, **{"Idempotency-Key": "old"}).json_body["order_id"]
    with transaction() as conn:
        conn.execute(
            orders.update()
            .where(orders.c.order_id == first)
            .values(create_time=datetime.now().astimezone() - timedelta(hours=25))
        )
    add_to_cart(client, buyer, sku, 1)

    second = place_order(client, buyer, **{"Idempotency-Key": "old"})

    assert second.status_code == 201
    assert second.json_body["order_id"] != first
    assert stock_and_sales(sku) == (3, 2)
    with transaction() as conn:
        keys = {
            row.order_id: row.idempotency_key
            for row in conn.execute(select(orders.c.order_id, orders.c.idempotency_key))
        }
    assert keys == {first: None, second.json_body["order_id"]: stored_idempotency_key("old")}


def test_a_bad_idempotency_key_is_400(client: Any, buyer: Any, make_sku: Any) -> None:
    add_to_cart(client, buyer, make_sku())
    response = place_order(client, buyer, **{"Idempotency-Key": "x" * 65})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json_body
    assert row_counts() == NOTHING


def test_a_failure_after_the_stock_update_rolls_everything_back(
    client: Any, buyer: Any, make_sku: Any, redis: Any, db: Any
) -> None:
    """A real failure, a database trigger refusing the second SKU's stock update (after
    the order, its lines, its history row and the first SKU's stock are written), must
    leave no order, no lines, no stock taken and the cart as it was."""
    # given a cart of two SKUs, and a trigger that fails any update of the second one
    first, second = make_sku(stock=5), make_sku(stock=5)
    add_to_cart(client, buyer, first, 2)
    add_to_cart(client, buyer, second, 1)
    cart_before = cart_of(redis, buyer.id)
    mysql = db.dialect.name in ("mysql", "mariadb")
    with db.begin() as conn:
        if mysql:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_stock AFTER UPDATE ON skus FOR EACH ROW "
                f"IF NEW.id = {second} THEN "
                "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; END IF"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_stock AFTER UPDATE ON skus WHEN NEW.id = {second} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
    try:
        # when the buyer places the order
        response = place_order(client, buyer)
    finally:
        with db.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_stock")

    # then the request failed (MariaDB's SIGNAL is an OperationalError: 503; SQLite's
    # RAISE an IntegrityError: 500) and nothing of it remains
    assert response.status_code == (503 if mysql else 500)
    assert stock_and_sales(first) == (5, 0)
    assert stock_and_sales(second) == (5, 0)
    assert row_counts() == NOTHING
    assert cart_of(redis, buyer.id) == cart_before


def take_off_sale(sku_id: int) -> None:
    with transaction() as conn:
        conn.execute(
            text("UPDATE skus SET is_launched = :no WHERE id = :id"), {"no": False, "id": sku_id}
        )


def test_settlement_names_selected_lines_no_longer_sold(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services import orders as orders_service

    # given a selected line taken off sale beside one still sold
    kept, gone = make_sku(price="50.00"), make_sku(price="80.00")
    add_to_cart(client, buyer, kept, 1)
    add_to_cart(client, buyer, gone, 2)
    take_off_sale(gone)

    # when the settlement is asked for (service, then route)
    with transaction() as conn, pytest.raises(Conflict) as raised:
        orders_service.settlement(conn, redis, buyer.id)
    response = client.http.get("/orders/settlement/", headers=buyer.headers)

    # then it is checkout's 409 out_of_stock, naming that line with 0 available
    assert (raised.value.code, raised.value.extra) == ("out_of_stock", {"skus": {str(gone): 0}})
    assert response.status_code == 409
    assert response.json_body["code"] == "out_of_stock"
    assert response.json_body["skus"] == {str(gone): 0}


def test_a_buyer_deselects_a_line_taken_off_sale_and_buys_the_rest(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given a cart of two lines, one then taken off sale
    kept, gone = make_sku(price="50.00", stock=5), make_sku(price="80.00", stock=5)
    add_to_cart(client, buyer, kept, 1)
    add_to_cart(client, buyer, gone, 2)
    take_off_sale(gone)

    # when the buyer deselects it, settles and places the order
    deselected = client.http.put(
        f"/cart/{gone}/", body='{"selected": false}', headers=buyer.headers
    )
    settlement = client.http.get("/orders/settlement/", headers=buyer.headers)
    placed = place_order(client, buyer)

    # then the line stays in the cart unselected with stock 0, and only the rest is bought
    assert deselected.status_code == 200
    assert (deselected.json_body["selected"], deselected.json_body["stock"]) == (False, 0)
    assert settlement.status_code == 200
    assert [item["sku_id"] for item in settlement.json_body["items"]] == [kept]
    assert placed.status_code == 201
    assert [line["sku_id"] for line in placed.json_body["lines"]] == [kept]
    assert stock_and_sales(gone) == (5, 0)


def test_a_buyer_at_the_unpaid_order_limit_is_refused_and_nothing_is_taken(
    client: Any, buyer: Any, make_sku: Any, make_order: Any, redis: Any, monkeypatch: Any
) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services import orders as orders_service

    # given MAX_UNPAID_ORDERS=2, two unpaid orders (and paid and cancelled ones, which
    # do not count) and a selected cart line
    monkeypatch.setenv("MAX_UNPAID_ORDERS", "2")
    sku = make_sku(stock=5)
    for status in (1, 1, 2, 6):
        make_order(buyer.id, sku, status=status)
    add_to_cart(client, buyer, sku, 1)
    cart_before = cart_of(redis, buyer.id)
    counts_before = row_counts()

    # when the buyer places another order (service, then route)
    with transaction() as conn, pytest.raises(Conflict) as raised:
        orders_service.place(
            conn, redis, user_id=buyer.id, address_id=buyer.address_id, pay_method="alipay"
        )
    response = place_order(client, buyer)

    # then it is 409 too_many_unpaid_orders, and nothing is taken or written
    assert raised.value.code == "too_many_unpaid_orders"
    assert response.status_code == 409
    assert response.json_body == {
        "detail": "You have 2 unpaid orders: pay or cancel one before placing another.",
        "code": "too_many_unpaid_orders",
    }
    assert stock_and_sales(sku) == (5, 0)
    assert row_counts() == counts_before
    assert cart_of(redis, buyer.id) == cart_before


def test_the_unpaid_order_limit_is_three_by_default_and_per_buyer(
    client: Any, make_buyer: Any, make_sku: Any, make_order: Any
) -> None:
    # given a buyer with two unpaid orders, and another with three
    sku = make_sku(stock=10)
    below, at = make_buyer(), make_buyer()
    for _ in range(2):
        make_order(below.id, sku)
    for _ in range(3):
        make_order(at.id, sku)
    add_to_cart(client, below, sku, 1)
    add_to_cart(client, at, sku, 1)

    # when both place an order
    placed, refused = place_order(client, below, "alipay"), place_order(client, at, "alipay")

    # then only the one below the limit gets it
    assert placed.status_code == 201
    assert (refused.status_code, refused.json_body["code"]) == (409, "too_many_unpaid_orders")


def _kind(statement: str) -> str:
    """'SELECT users FOR UPDATE', 'INSERT orders', ...: a statement's verb, its first table
    and its lock, whatever the dialect adds (MariaDB's SET STATEMENT ... FOR prefix)."""
    if statement.startswith("SET STATEMENT"):
        statement = statement.split(" FOR ", 1)[1]
    verb = statement.split(None, 1)[0].upper()
    while (outer := re.sub(r"\([^()]*\)", "", statement)) != statement:
        statement = outer  # subqueries (and every parenthesis) dropped: the outer table
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+[`\"]?(\w+)", statement, re.IGNORECASE)
    lock = " FOR UPDATE" if statement.rstrip().upper().endswith("FOR UPDATE") else ""
    return f"{verb} {table.group(1) if table else ''}{lock}".strip()


@pytest.mark.parametrize("key", [None, "checkout-statements"])
def test_a_checkout_sends_the_lock_one_read_and_its_writes(
    client: Any, buyer: Any, make_sku: Any, db: Any, key: str | None
) -> None:
    # given two selected SKUs
    first, second = make_sku(price="60.00"), make_sku(price="5.50")
    add_to_cart(client, buyer, first, 2)
    add_to_cart(client, buyer, second, 1)
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    # when the buyer places an order
    event.listen(db, "before_cursor_execute", record)
    try:
        response = place_order(client, buyer, **({"Idempotency-Key": key} if key else {}))
    finally:
        event.remove(db, "before_cursor_execute", record)

    # then the request reads the buyer (auth), locks the buyer's row, reads what the order is
    # made of in one statement, writes the order and its history row, takes each SKU's
    # stock and inserts the lines in one statement; nothing is read back
    # (SQLite has no row locks, and no FOR UPDATE: its units begin IMMEDIATE instead)
    assert response.status_code == 201, response.body
    kinds = [_kind(s) for s in sent if not s.upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    assert kinds == [
        "SELECT users",
        "SELECT users" if db.dialect.name == "sqlite" else "SELECT users FOR UPDATE",
        "SELECT users",
        "INSERT orders",
        "INSERT order_status_history",
        "UPDATE skus",
        "UPDATE skus",
        "INSERT order_lines",
    ]


def test_the_placed_order_answered_is_the_order_as_read_back(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given two selected lines, one of a SKU with an image
    first, second = make_sku(price="60.00", default_image="group1/aa/tv.jpg"), make_sku()
    add_to_cart(client, buyer, first, 2)
    add_to_cart(client, buyer, second, 1)

    # when the buyer places an order (built from what was written), then reads it back
    placed = place_order(client, buyer, "alipay", **{"Idempotency-Key": "read-back"})
    read = client.http.get(f"/orders/{placed.json_body['order_id']}/", headers=buyer.headers)

    # then both bodies are the same, field for field
    assert placed.status_code == 201
    assert read.status_code == 200
    assert placed.json_body == read.json_body


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("placed", 201),
        ("replayed", 201),
        ("short of stock", 409),
        ("not the buyer's address", 400),
        ("nothing selected", 400),
    ],
)
def test_no_order_stays_listed_as_leaving_the_cart_once_its_checkout_has_ended(
    client: Any, buyer: Any, make_buyer: Any, make_sku: Any, redis: Any, outcome: str, status: int
) -> None:
    # given a buyer about to check out, with the outcome set up
    sku = make_sku(stock=2)
    add_to_cart(client, buyer, sku, 1, selected=outcome != "nothing selected")
    key = {"Idempotency-Key": "listed"} if outcome == "replayed" else {}
    if outcome == "replayed":
        assert place_order(client, buyer, **key).status_code == 201
        add_to_cart(client, buyer, sku, 1)
    if outcome == "short of stock":
        with transaction() as conn:
            conn.execute(text("UPDATE skus SET stock = 0 WHERE id = :id"), {"id": sku})
    if outcome == "not the buyer's address":
        buyer.address_id = make_buyer().address_id

    # when the buyer checks out (the order is listed as the cart is read)
    response = place_order(client, buyer, **key)

    # then it answers as before, and no order is left listed: none that committed is still
    # leaving the cart, and none that did not commit makes later checkouts look it up
    assert response.status_code == status, response.body
    assert redis.smembers(f"cart:{buyer.id}:placing") == set()
