"""The expire-orders job: unpaid orders past their deadline are cancelled, stock returned."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from chalicelib.clock import utcnow
from chalicelib.db.engine import transaction
from chalicelib.db.tables import order_status_history, orders
from chalicelib.jobs import run_now
from tests.functional.orders.conftest import add_to_cart, place_order, stock_and_sales


def _order(client: Any, buyer: Any, sku: int, count: int) -> str:
    add_to_cart(client, buyer, sku, count)
    response = place_order(client, buyer)
    assert response.status_code == 201
    return str(response.json_body["order_id"])


def _overdue(order_id: str) -> None:
    with transaction() as conn:
        conn.execute(
            orders.update()
            .where(orders.c.order_id == order_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def _statuses() -> dict[str, int]:
    with transaction() as conn:
        return {
            row.order_id: row.status
            for row in conn.execute(select(orders.c.order_id, orders.c.status))
        }


def test_overdue_unpaid_orders_are_cancelled_once_and_others_are_left(
    client: Any, make_buyer: Any, make_sku: Any
) -> None:
    # given an overdue unpaid order, an unpaid one still in time, and an overdue paid one
    sku = make_sku(stock=10)
    overdue, in_time, paid = (_order(client, make_buyer(), sku, n) for n in (1, 2, 3))
    _overdue(overdue)
    _overdue(paid)
    with transaction() as conn:
        conn.execute(text("UPDATE orders SET status = 2 WHERE order_id = :id"), {"id": paid})

    # when the job runs, twice
    first = run_now("expire-orders")
    second = run_now("expire-orders")

    # then only the overdue unpaid order is cancelled, its unit returned once
    assert first.startswith("1 unpaid orders cancelled")
    assert second.startswith("0 unpaid orders cancelled")
    assert _statuses() == {overdue: 6, in_time: 1, paid: 2}
    assert stock_and_sales(sku) == (5, 5)
    with transaction() as conn:
        actor = conn.scalar(
            select(order_status_history.c.actor).where(
                order_status_history.c.order_id == overdue, order_status_history.c.to_status == 6
            )
        )
    assert actor == "system"


def test_the_job_is_scheduled_every_five_minutes() -> None:
    from chalice.app import ScheduledEventConfig

    from app import app

    schedules = {
        s.name: s.schedule_expression
        for s in app.event_sources
        if isinstance(s, ScheduledEventConfig)
    }

    assert schedules["job_expire_orders"] == "rate(5 minutes)"


def test_two_runs_at_once_cancel_each_order_once(
    client: Any, make_buyer: Any, make_sku: Any
) -> None:
    # given six overdue orders of one unit each
    sku = make_sku(stock=10)
    order_ids = [_order(client, make_buyer(), sku, 1) for _ in range(6)]
    for order_id in order_ids:
        _overdue(order_id)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run() -> None:
        barrier.wait()
        results.append(run_now("expire-orders"))

    # when two runs start at the same moment
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every order is cancelled exactly once and the stock is whole again
    cancelled = sum(int(result.split()[0]) for result in results)
    assert cancelled == 6
    assert set(_statuses().values()) == {6}
    assert stock_and_sales(sku) == (10, 0)
    with transaction() as conn:
        moves = conn.scalar(select(func.count()).where(order_status_history.c.to_status == 6))
    assert moves == 6


def test_the_scheduled_lambda_runs_the_job(client: Any, buyer: Any, make_sku: Any) -> None:
    sku = make_sku(stock=3)
    order_id = _order(client, buyer, sku, 1)
    _overdue(order_id)

    response = client.lambda_.invoke(
        "job_expire_orders",
        client.events.generate_cw_event(
            source="aws.events",
            detail_type="Scheduled Event",
            detail={},
            resources=[],
            region="us-east-1",
        ),
    )

    assert response.payload.startswith("1 unpaid orders cancelled")
    assert _statuses() == {order_id: 6}
    assert stock_and_sales(sku) == (3, 0)
