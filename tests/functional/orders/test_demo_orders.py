"""seed_demo_orders: the demo customers get orders in every status, once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import balance_records, order_lines, orders, users
from devtools.demo_orders import seed_demo_orders
from tests.functional.orders.conftest import row_counts


def test_demo_orders_cover_every_status_and_a_second_run_adds_none(
    make_user: Any, make_sku: Any
) -> None:
    # given the demo accounts and six SKUs with stock
    make_user("admin", is_staff=True)
    make_user("demo_buyer")
    make_user("demo_fan")
    for _ in range(6):
        make_sku(stock=20)

    # when the demo orders are seeded twice
    with transaction() as conn:
        first = seed_demo_orders(conn)
    counts = row_counts()
    with transaction() as conn:
        second = seed_demo_orders(conn)

    # then eight orders exist in all six statuses, with comments and a consistent ledger
    assert (first, second) == ("8 new demo orders", "0 new demo orders")
    assert row_counts() == counts
    with transaction() as conn:
        statuses = sorted(conn.scalars(select(orders.c.status)))
        commented = conn.scalars(
            select(order_lines.c.comment).where(order_lines.c.commented_at.is_not(None))
        ).all()
        for user_id, balance in conn.execute(select(users.c.id, users.c.balance)):
            ledger = conn.scalars(
                select(balance_records.c.amount).where(balance_records.c.user_id == user_id)
            ).all()
            assert sum(ledger) == balance
    assert statuses == [1, 2, 3, 4, 5, 5, 6, 6]
    assert len(commented) == 3


def test_without_a_catalogue_there_are_no_demo_orders(make_user: Any) -> None:
    make_user("demo_buyer")
    with transaction() as conn:
        assert seed_demo_orders(conn).startswith("no demo orders")
    assert row_counts()["orders"] == 0
