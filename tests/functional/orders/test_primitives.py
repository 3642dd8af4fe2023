"""The primitives the payments area builds on: orders.cancel and orders.retake_stock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import order_status_history
from chalicelib.db.tables import orders as orders_table
from chalicelib.services import orders
from tests.functional.orders.conftest import add_to_cart, place_order, stock_and_sales


def _placed(client: Any, buyer: Any, *sku_counts: tuple[int, int]) -> str:
    for sku_id, count in sku_counts:
        add_to_cart(client, buyer, sku_id, count)
    response = place_order(client, buyer)
    assert response.status_code == 201, response.body
    return str(response.json_body["order_id"])


def test_cancel_moves_an_unpaid_order_to_cancelled_and_returns_its_stock_once(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given an unpaid order for 2 + 3 units of two SKUs
    first, second = make_sku(stock=5), make_sku(stock=5)
    order_id = _placed(client, buyer, (first, 2), (second, 3))
    assert stock_and_sales(first) == (3, 2) and stock_and_sales(second) == (2, 3)

    # when it is cancelled twice
    with transaction() as conn:
        assert orders.cancel(conn, order_id, actor="system", reason="not paid in time") is True
    with transaction() as conn:
        assert orders.cancel(conn, order_id, actor="system", reason="not paid in time") is False

    # then the stock came back exactly once, and one history row records the move
    assert stock_and_sales(first) == (5, 0) and stock_and_sales(second) == (5, 0)
    with transaction() as conn:
        status = conn.scalar(
            select(orders_table.c.status).where(orders_table.c.order_id == order_id)
        )
        history = conn.execute(
            select(
                order_status_history.c.from_status,
                order_status_history.c.to_status,
                order_status_history.c.actor,
                order_status_history.c.reason,
            )
            .where(order_status_history.c.order_id == order_id)
            .order_by(order_status_history.c.id)
        ).all()
    assert status == 6
    assert [tuple(h) for h in history] == [
        (None, 1, f"user:{buyer.id}", "placed"),
        (1, 6, "system", "not paid in time"),
    ]


def test_retake_stock_takes_a_cancelled_orders_stock_again(
    client: Any, buyer: Any, make_sku: Any
) -> None:
    # given a cancelled order for 2 + 3 units
    first, second = make_sku(stock=5), make_sku(stock=5)
    order_id = _placed(client, buyer, (first, 2), (second, 3))
    with transaction() as conn:
        orders.cancel(conn, order_id, actor="system", reason="not paid in time")

    # when its stock is taken again
    with transaction() as conn:
        assert orders.retake_stock(conn, order_id) is True

    # then the units are taken as at checkout
    assert stock_and_sales(first) == (3, 2) and stock_and_sales(second) == (2, 3)


def test_retake_stock_takes_nothing_when_one_line_cannot_be_had(
    client: Any, buyer: Any, make_sku: Any, make_buyer: Any
) -> None:
    # given a cancelled order for 2 + 3 units, and someone else then bought the second SKU out
    first, second = make_sku(stock=5), make_sku(stock=5)
    order_id = _placed(client, buyer, (first, 2), (second, 3))
    with transaction() as conn:
        orders.cancel(conn, order_id, actor="system", reason="not paid in time")
    other = make_buyer()
    _placed(client, other, (second, 4))
    assert stock_and_sales(second) == (1, 4)

    # when its stock is taken again, inside a transaction that goes on
    with transaction() as conn:
        assert orders.retake_stock(conn, order_id) is False
        assert orders.cancel(conn, order_id, actor="system", reason="again") is False

    # then nothing was taken, not even the first SKU's units that were available
    assert stock_and_sales(first) == (5, 0)
    assert stock_and_sales(second) == (1, 4)
