"""Concurrent notifies and a notify racing a cancellation (real contention on MariaDB).

Each thread runs what the notify view runs: verify, then settle in its own transaction.
On SQLite the transactions queue on the write lock; on MariaDB on the order's row lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.db.engine import transaction
from chalicelib.services import orders, payments

THREADS = 10


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer51")


def deliver(fields: dict[str, str]) -> payments.Settlement:
    report = payments.verified_alipay_notify(resources.alipay(), fields)
    with transaction() as conn:
        return payments.settle_alipay_payment(conn, report)


def test_ten_concurrent_duplicates_record_one_payment(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    sku_id = make_sku(stock=7)
    order_id = make_order(buyer.id, sku_id)
    fields = fake_alipay.notify(order_id, "5999.00", trade_no="T1000")
    start = threading.Barrier(THREADS)

    def one(_: int) -> payments.Settlement:
        start.wait()
        return deliver(dict(fields))

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(one, range(THREADS)))

    assert outcomes == {payments.Settlement.PAID: 1, payments.Settlement.ALREADY_RECORDED: 9}
    after = shop.snapshot(order_id, sku_id)
    assert after["payments"] == [(order_id, "T1000", 599900, "paid")]
    assert after["history"] == [(None, 1, f"user:{buyer.id}"), (1, 2, "alipay")]
    assert after["stock"] == 7


def test_a_notify_racing_a_cancellation_always_ends_paid_with_the_stock_taken_once(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    sku_id = make_sku(stock=20)  # 5 orders of 2 were placed: their 10 units are taken already
    order_ids = [make_order(buyer.id, sku_id, count=2) for _ in range(5)]
    start = threading.Barrier(2)

    def cancel(order_id: str) -> bool:
        start.wait()
        with transaction() as conn:
            return orders.cancel(conn, order_id, actor="system", reason="not paid in time")

    def pay(order_id: str) -> payments.Settlement:
        start.wait()
        return deliver(fake_alipay.notify(order_id, "11998.00", trade_no=f"T-{order_id}"))

    for order_id in order_ids:
        with ThreadPoolExecutor(2) as pool:
            cancelled = pool.submit(cancel, order_id)
            settled = pool.submit(pay, order_id)
            outcome = settled.result()
            assert outcome is (
                payments.Settlement.LATE_PAID if cancelled.result() else payments.Settlement.PAID
            )
        after = shop.snapshot(order_id, sku_id)
        assert after["status"] == 2
        assert after["payments"][-1] == (order_id, f"T-{order_id}", 2 * 599900, "paid")
    final = shop.snapshot(order_ids[0], sku_id)
    assert len(final["payments"]) == 5
    assert final["stock"] == 20
