"""close_alipay_trade and the reconcile-payments job: no payment lost, no unpaid order lingers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.jobs import run_now
from chalicelib.services import payments


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer31")


def test_close_an_open_trade(fake_alipay: Any, db: Any) -> None:
    fake_alipay.waiting("20240501000000000000000000000010", "1.00")
    assert (
        payments.close_alipay_trade("20240501000000000000000000000010", resources.alipay()) is True
    )
    assert fake_alipay.trades["20240501000000000000000000000010"]["trade_status"] == "TRADE_CLOSED"


def test_close_a_trade_alipay_never_opened(fake_alipay: Any, db: Any) -> None:
    assert (
        payments.close_alipay_trade("20240501000000000000000000000011", resources.alipay()) is True
    )
    assert fake_alipay.methods_called() == ["alipay.trade.close"]


def test_close_a_closed_trade_again(fake_alipay: Any, db: Any) -> None:
    fake_alipay.waiting("20240501000000000000000000000012", "1.00")
    assert (
        payments.close_alipay_trade("20240501000000000000000000000012", resources.alipay()) is True
    )
    assert (
        payments.close_alipay_trade("20240501000000000000000000000012", resources.alipay()) is True
    )
    assert fake_alipay.methods_called() == [
        "alipay.trade.close",
        "alipay.trade.close",
        "alipay.trade.query",  # ACQ.TRADE_STATUS_ERROR: closed or paid? asked
    ]


def test_close_a_paid_trade_is_false(fake_alipay: Any, db: Any) -> None:
    fake_alipay.paid("20240501000000000000000000000013", "1.00")
    assert (
        payments.close_alipay_trade("20240501000000000000000000000013", resources.alipay()) is False
    )
    assert fake_alipay.trades["20240501000000000000000000000013"]["trade_status"] == "TRADE_SUCCESS"


def test_close_raises_when_alipay_is_down(fake_alipay: Any, db: Any) -> None:
    from chalicelib.adapters.alipay import AlipayUnavailable

    fake_alipay.stop()
    with pytest.raises(AlipayUnavailable):
        payments.close_alipay_trade("20240501000000000000000000000014", resources.alipay())


def test_reconcile_settles_paid_trades_and_leaves_expiry_to_the_expiry_job(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any, client: Any
) -> None:
    sku_id, now = make_sku(stock=10), utcnow()
    # paid at Alipay, notify lost, not expired yet
    paid = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=10))
    fake_alipay.paid(paid, "5999.00", trade_no="T900")
    # not expired, cashier opened but not paid
    waiting = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=12))
    fake_alipay.waiting(waiting, "5999.00")
    # expired (paid at Alipay or not): the expiry job's, not reconciliation's
    expired = make_order(buyer.id, sku_id, count=2, create_time=now - timedelta(minutes=40))
    expired_paid = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=45))
    fake_alipay.paid(expired_paid, "5999.00", trade_no="T901")
    # too young to look at; and a balance order
    young = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=1))
    balance = make_order(
        buyer.id, sku_id, pay_method="balance", create_time=now - timedelta(minutes=10)
    )

    # when the job runs (as EventBridge runs it)
    result = client.lambda_.invoke(
        "job_reconcile_payments",
        client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    )

    # then only the trade that was paid is settled; nothing is closed or cancelled
    assert result.payload == "2 of 2 unpaid Alipay orders checked: 1 settled as paid"
    assert shop.snapshot(paid)["status"] == 2
    for untouched in (waiting, expired, expired_paid, young, balance):
        assert shop.snapshot(untouched)["status"] == 1
    assert fake_alipay.trades[waiting]["trade_status"] == "WAIT_BUYER_PAY"
    assert [p[1] for p in shop.snapshot(paid)["payments"]] == ["T900"]
    assert sorted({r["biz"]["out_trade_no"] for r in fake_alipay.requests}) == sorted(
        [paid, waiting]
    )
    # a second run asks about the one still waiting only
    assert run_now("reconcile-payments") == "1 of 1 unpaid Alipay orders checked: 0 settled as paid"


def test_the_expiry_job_closes_trades_before_cancelling_and_settles_paid_ones(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    sku_id, now = make_sku(stock=10), utcnow()
    # expired, the buyer never reached the cashier
    expired = make_order(buyer.id, sku_id, count=2, create_time=now - timedelta(minutes=40))
    # expired, cashier opened but not paid
    expired_open = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=35))
    fake_alipay.waiting(expired_open, "5999.00")
    # expired but paid at Alipay: settled, not cancelled
    expired_paid = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=45))
    fake_alipay.paid(expired_paid, "5999.00", trade_no="T901")
    # not expired
    young = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=1))

    result = run_now("expire-orders")

    assert result == (
        "2 unpaid orders cancelled, 1 paid at Alipay and settled, 0 waiting for Alipay, 0 failed"
    )
    assert shop.snapshot(expired)["status"] == 6
    assert shop.snapshot(expired)["history"][-1] == (1, 6, "system")
    assert shop.snapshot(expired_open)["status"] == 6
    assert fake_alipay.trades[expired_open]["trade_status"] == "TRADE_CLOSED"
    assert shop.snapshot(expired_paid)["status"] == 2
    assert [p[1] for p in shop.snapshot(expired_paid)["payments"]] == ["T901"]
    assert shop.snapshot(young)["status"] == 1
    assert shop.snapshot(young, sku_id)["stock"] == 13  # 2 + 1 units of the cancelled orders back
    assert run_now("expire-orders") == (
        "0 unpaid orders cancelled, 0 paid at Alipay and settled, 0 waiting for Alipay, 0 failed"
    )


def test_reconcile_stops_when_alipay_is_down_and_changes_nothing(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    sku_id, now = make_sku(stock=10), utcnow()
    unsettled = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=10))
    before = shop.snapshot(unsettled, sku_id)
    fake_alipay.mode = "garbage"

    result = run_now("reconcile-payments")

    assert result == (
        "1 of 1 unpaid Alipay orders checked: 0 settled as paid; stopped: Alipay unavailable"
    )
    assert shop.snapshot(unsettled, sku_id) == before


def test_expiry_leaves_alipay_orders_waiting_while_alipay_is_down_and_expires_the_rest(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    sku_id, now = make_sku(stock=10), utcnow()
    first = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=41))
    second = make_order(buyer.id, sku_id, create_time=now - timedelta(minutes=40))
    balance = make_order(
        buyer.id, sku_id, pay_method="balance", create_time=now - timedelta(minutes=39)
    )
    before = shop.snapshot(first, sku_id)
    fake_alipay.mode = "garbage"

    result = run_now("expire-orders")

    assert result == (
        "1 unpaid orders cancelled, 0 paid at Alipay and settled, 2 waiting for Alipay, 0 failed"
    )
    assert shop.snapshot(first, sku_id)["status"] == before["status"] == 1
    assert shop.snapshot(second)["status"] == 1
    assert shop.snapshot(balance)["status"] == 6
    assert len([r for r in fake_alipay.requests if r["method"] == "alipay.trade.close"]) == 1


def test_the_job_is_scheduled_every_five_minutes() -> None:
    from chalice.app import ScheduledEventConfig

    from app import app
    from chalicelib.jobs import JOBS

    schedules = {
        s.name: (s.schedule_expression, s.handler_string)
        for s in app.event_sources
        if isinstance(s, ScheduledEventConfig)
    }

    assert schedules["job_reconcile_payments"] == (
        "rate(5 minutes)",
        "chalicelib.jobs.job_reconcile_payments",
    )
    assert JOBS["reconcile-payments"].func.__name__ == "job_reconcile_payments"


def test_the_settled_payment_keeps_alipays_answer(
    fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any, db: Any
) -> None:
    from sqlalchemy import select

    from chalicelib.db.tables import payments as payments_table

    order_id = make_order(buyer.id, make_sku(), create_time=utcnow() - timedelta(minutes=5))
    fake_alipay.paid(order_id, "5999.00", trade_no="T902")
    run_now("reconcile-payments")
    with db.connect() as conn:
        raw = conn.scalar(select(payments_table.c.raw))
    assert json.loads(raw)["trade_no"] == "T902"
    assert json.loads(raw)["trade_status"] == "TRADE_SUCCESS"
