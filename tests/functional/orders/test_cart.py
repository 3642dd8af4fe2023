"""The Redis cart: adding, changing, selecting, removing, and reading it in one query."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event

from chalicelib.services.cart import CART_TTL_SECONDS
from tests.conftest import post_json, put_json
from tests.functional.orders.conftest import add_to_cart, cart_of


def test_adding_twice_adds_up_and_the_cart_shows_lines_with_totals(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given two SKUs
    tv, fridge = make_sku(price="3999.00", stock=5), make_sku(price="2500.50", stock=9)

    # when the buyer adds 1 + 2 TVs and one unselected fridge
    add_to_cart(client, buyer, tv, 1)
    second = add_to_cart(client, buyer, tv, 2)
    add_to_cart(client, buyer, fridge, 1, selected=False)
    response = client.http.get("/cart/", headers=buyer.headers)

    # then the TV line holds 3 and the totals count only selected lines in the amount
    assert second.json_body["count"] == 3
    assert response.status_code == 200
    body = response.json_body
    assert [
        (i["sku_id"], i["count"], i["selected"], i["amount"], i["stock"]) for i in body["items"]
    ] == [
        (tv, 3, True, "11997.00", 5),
        (fridge, 1, False, "2500.50", 9),
    ]
    assert body["items"][0]["price"] == "3999.00"
    assert (body["total_count"], body["selected_count"], body["selected_amount"]) == (
        4,
        3,
        "11997.00",
    )
    count = client.http.get("/cart/count/", headers=buyer.headers)
    assert count.json_body == {"count": 4}


def test_the_cart_is_read_with_one_sku_query_and_expires_after_30_days_unused(
    client: Any, buyer: Any, make_sku: Any, db: Any, redis: Any
) -> None:
    # given a cart of five lines
    for _ in range(5):
        add_to_cart(client, buyer, make_sku())
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "skus" in statement:
            statements.append(statement)

    # when it is read
    event.listen(db, "before_cursor_execute", record)
    try:
        response = client.http.get("/cart/", headers=buyer.headers)
    finally:
        event.remove(db, "before_cursor_execute", record)

    # then one query fetched all five SKUs, and both keys live for 30 days from now
    assert len(response.json_body["items"]) == 5
    assert len(statements) == 1
    for key in (f"cart:{buyer.id}", f"cart:{buyer.id}:selected"):
        assert CART_TTL_SECONDS - 5 <= redis.ttl(key) <= CART_TTL_SECONDS


def test_more_than_the_stock_is_refused_and_the_cart_is_unchanged(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given 2 of a SKU with stock 3 in the cart
    sku = make_sku(stock=3)
    add_to_cart(client, buyer, sku, 2)

    # when the buyer adds 2 more, or sets the count to 4
    added = post_json(client, "/cart/", {"sku_id": sku, "count": 2}, headers=buyer.headers)
    changed = put_json(client, f"/cart/{sku}/", {"count": 4}, headers=buyer.headers)

    # then both are 409 out_of_stock naming what is left, and the cart still holds 2
    for response in (added, changed):
        assert response.status_code == 409
        assert response.json_body == {
            "detail": "Not enough stock.",
            "code": "out_of_stock",
            "skus": {str(sku): 3},
        }
    assert cart_of(redis, buyer.id) == ({str(sku): "2"}, {str(sku)})


def test_bad_counts_unknown_and_unlaunched_skus_are_refused_with_nothing_stored(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given a launched and an unlaunched SKU
    sku, hidden = make_sku(stock=10), make_sku(stock=10, is_launched=False)

    # when the buyer sends counts <= 0, huge or not integers, and SKUs that cannot be bought
    bad = [
        ({"sku_id": sku, "count": 0}, 400),
        ({"sku_id": sku, "count": -3}, 400),
        ({"sku_id": sku, "count": 10**30}, 400),
        ({"sku_id": sku, "count": "2"}, 400),
        ({"sku_id": sku, "count": 1.5}, 400),
        ({"sku_id": "x"}, 400),
        ({"sku_id": 999_999}, 404),
        ({"sku_id": hidden}, 404),
    ]
    statuses = [
        post_json(client, "/cart/", body, headers=buyer.headers).status_code for body, _ in bad
    ]

    # then each is refused and the cart stays empty
    assert statuses == [status for _, status in bad]
    assert cart_of(redis, buyer.id) == ({}, set())


def test_forged_prices_in_the_body_are_ignored(client: Any, buyer: Any, make_sku: Any) -> None:
    sku = make_sku(price="100.00")
    response = post_json(
        client,
        "/cart/",
        {"sku_id": sku, "count": 1, "price": "0.01", "amount": "0.01"},
        headers=buyer.headers,
    )
    assert response.status_code == 201
    assert (response.json_body["price"], response.json_body["amount"]) == ("100.00", "100.00")


def test_changing_selecting_and_removing_lines(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    # given two selected lines
    first, second = make_sku(stock=10), make_sku(stock=10)
    add_to_cart(client, buyer, first, 1)
    add_to_cart(client, buyer, second, 1)

    # when the first is set to 4 and unselected, then all are unselected, then all selected
    changed = put_json(
        client, f"/cart/{first}/", {"count": 4, "selected": False}, headers=buyer.headers
    )
    assert (changed.status_code, changed.json_body["count"], changed.json_body["selected"]) == (
        200,
        4,
        False,
    )
    assert cart_of(redis, buyer.id)[1] == {str(second)}
    none = put_json(client, "/cart/selection/", {"selected": False}, headers=buyer.headers)
    assert (none.status_code, none.json_body) == (200, {"selected": False})
    assert cart_of(redis, buyer.id)[1] == set()
    put_json(client, "/cart/selection/", {"selected": True}, headers=buyer.headers)
    assert cart_of(redis, buyer.id)[1] == {str(first), str(second)}

    # and the second line is deleted (twice: deleting is idempotent)
    for _ in range(2):
        deleted = client.http.delete(f"/cart/{second}/", headers=buyer.headers)
        assert deleted.status_code == 204
    assert cart_of(redis, buyer.id) == ({str(first): "4"}, {str(first)})


def test_changing_a_line_that_is_not_in_the_cart_is_404(
    client: Any, buyer: Any, make_sku: Any, redis: Any
) -> None:
    sku = make_sku()
    for path in (f"/cart/{sku}/", "/cart/999999/", "/cart/abc/"):
        response = put_json(client, path, {"count": 1}, headers=buyer.headers)
        assert response.status_code == 404
    assert cart_of(redis, buyer.id) == ({}, set())


def test_the_cart_needs_a_login(client: Any) -> None:
    response = client.http.get("/cart/")
    assert response.status_code == 401
    response = client.http.post("/cart/", body=json.dumps({"sku_id": 1}), headers={})
    assert response.status_code == 401


def test_an_unlaunched_sku_stays_in_the_cart_with_nothing_to_buy(
    client: Any, buyer: Any, make_sku: Any, db: Any
) -> None:
    sku = make_sku(stock=7)
    add_to_cart(client, buyer, sku, 2)
    with db.begin() as conn:
        conn.exec_driver_sql(f"UPDATE skus SET is_launched = 0 WHERE id = {sku}")

    body = client.http.get("/cart/", headers=buyer.headers).json_body

    assert [(i["sku_id"], i["count"], i["stock"]) for i in body["items"]] == [(sku, 2, 0)]
    assert client.http.delete(f"/cart/{sku}/", headers=buyer.headers).status_code == 204
    assert client.http.get("/cart/count/", headers=buyer.headers).json_body == {"count": 0}


def test_a_deleted_sku_stays_in_the_cart_with_nothing_to_buy(
    client: Any, buyer: Any, make_sku: Any, db: Any
) -> None:
    # given a line whose SKU staff then delete (left launched: deletion alone must do)
    sku = make_sku(stock=7)
    add_to_cart(client, buyer, sku, 2)
    with db.begin() as conn:
        conn.exec_driver_sql(f"UPDATE skus SET is_deleted = 1 WHERE id = {sku}")

    # when the buyer reads the cart and tries to raise the count
    body = client.http.get("/cart/", headers=buyer.headers).json_body
    recount = put_json(client, f"/cart/{sku}/", {"count": 1}, headers=buyer.headers)

    # then the line shows nothing to buy, and a count is out_of_stock with 0 left
    assert [(i["sku_id"], i["count"], i["stock"]) for i in body["items"]] == [(sku, 2, 0)]
    assert (recount.status_code, recount.json_body["skus"]) == (409, {str(sku): 0})


def test_a_line_taken_off_sale_can_be_deselected_but_not_recounted(
    client: Any, buyer: Any, make_sku: Any, db: Any, redis: Any
) -> None:
    from sqlalchemy import update

    from chalicelib.db.tables import skus
    from chalicelib.errors import Conflict
    from chalicelib.services import cart

    # given a selected line of 2 whose SKU is then taken off sale
    sku = make_sku(stock=5)
    add_to_cart(client, buyer, sku, 2)
    with db.begin() as conn:
        conn.execute(update(skus).where(skus.c.id == sku).values(is_launched=False))

    # when the buyer deselects it, then tries to change its count
    with db.begin() as conn:
        line = cart.update(conn, redis, buyer.id, sku, count=None, selected=False)
    with db.begin() as conn, pytest.raises(Conflict) as raised:
        cart.update(conn, redis, buyer.id, sku, count=1, selected=None)

    # then the deselection holds (stock shown as 0) and a count is out_of_stock with 0 left
    assert (line.count, line.selected, line.stock) == (2, False, 0)
    assert (raised.value.code, raised.value.extra) == ("out_of_stock", {"skus": {str(sku): 0}})
    assert cart.selected_counts(redis, buyer.id) == {}
    assert cart_of(redis, buyer.id)[0] == {str(sku): "2"}
