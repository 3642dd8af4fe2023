"""close_alipay_trade and the reconcile-payments job: no payment lost, no unpaid order lingers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.services import payments


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer31")


def test_close_an_open_trade(fake_alipay: Any, db: Any) -> None:
    fake_alipay.waiting("20240501000000000000000000000010", "1.00")
    assert payments.close_alipay_trade("20240501000000000000000000000010") is True
    assert fake_alipay.trades["20240501000000000000000000000010"]["trade_status"] == "TRADE_CLOSED"


def test_close_a_trade_alipay_never_opened(fake_alipay: Any, db: Any) -> None:
    assert payments.close_alipay_trade("20240501000000000000000000000011") is True
    assert fake_alipay.methods_called() == ["alipay.trade.close"]


def test_close_a_closed_trade_again(fake_alipay: Any, db: Any) -> None:
    fake_alipay.waiting("20240501000000000000000000000012", "1.00")
    assert payments.close_alipay_trade("20240501000000000000000000000012") is True
    assert payments.close_alipay_trade("20240501000000000000000000000012") is True
    assert fake_alipay.methods_called() == [
        "alipay.trade.close",
        "alipay.trade.close",
        "alipay.trade.query",  # ACQ.TRADE_STATUS_ERROR: closed or paid? asked
    ]


def test_close_a_paid_trade_is_false(fake_alipay: Any, db: Any) -> None:
    fake_alipay.paid("20240501000000000000000000000013", "1.00")
    assert payments.close_alipay_trade("20240501000000000000000000000013") is False
    assert fake_alipay.trades["20240501000000000000000000000013"]["trade_status"] == "TRADE_SUCCESS"


def test_close_raises_when_alipay_is_down(fake_alipay: Any, db: Any) -> None:
    from chalicelib.adapters.alipay import AlipayUnavailable

    fake_alipay.stop()
    with pytest.raises(AlipayUnavailable):
        payments.close_alipay_trade("20240501000000000000000000000014")


def test_reconcile_settles_paid_trades_and_closes_expired_ones(
    fake_alipay: Any, shop: Any, buyer: Any, client: Any
) -> None:
    sku_id = shop.sku(stock=10)
    # paid at Alipay, notify lost, not expired yet
    paid = shop.order(buyer, sku_id, created_ago=timedelta(minutes=10))
    fake_alipay.paid(paid, "5999.00", trade_no="T900")
    # expired, the buyer never reached the cashier
    expired = shop.order(buyer, sku_id, count=2, created_ago=timedelta(minutes=40))
    # expired, cashier opened but not paid
    expired_open = shop.order(buyer, sku_id, created_ago=timedelta(minutes=35))
    fake_alipay.waiting(expired_open, "5999.00")
    # expired but paid at Alipay: settled, not cancelled
    expired_paid = shop.order(buyer, sku_id, created_ago=timedelta(minutes=45))
    fake_alipay.paid(expired_paid, "5999.00", trade_no="T901")
    # too young to look at; and a balance order
    young = shop.order(buyer, sku_id, created_ago=timedelta(minutes=1))
    balance = shop.order(buyer, sku_id, pay_method="balance", created_ago=timedelta(minutes=50))

    # when the job runs (as EventBridge runs it)
    result = client.lambda_.invoke(
        "job_reconcile_payments",
        client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    )

    assert result.payload == (
        "4 of 4 unpaid Alipay orders checked: 2 settled as paid, 2 expired and cancelled"
    )
    assert shop.snapshot(paid)["status"] == 2
    assert shop.snapshot(expired_paid)["status"] == 2
    assert shop.snapshot(expired)["status"] == 6
    assert shop.snapshot(expired)["history"][-1] == (1, 6, "system")
    assert shop.snapshot(expired_open)["status"] == 6
    assert fake_alipay.trades[expired_open]["trade_status"] == "TRADE_CLOSED"
    assert shop.snapshot(young)["status"] == 1
    assert shop.snapshot(balance)["status"] == 1
    assert shop.snapshot(young, sku_id)["stock"] == 13  # 2 + 1 units of the cancelled orders back
    assert sorted(p[1] for p in shop.snapshot(paid)["payments"]) == ["T900", "T901"]
    queried = [r["biz"]["out_trade_no"] for r in fake_alipay.requests]
    assert young not in queried and balance not in queried
    # a second run finds nothing left to do
    assert payments.reconcile_payments() == (
        "0 of 0 unpaid Alipay orders checked: 0 settled as paid, 0 expired and cancelled"
    )


def test_reconcile_stops_when_alipay_is_down_and_changes_nothing(
    fake_alipay: Any, shop: Any, buyer: Any
) -> None:
    sku_id = shop.sku(stock=10)
    expired = shop.order(buyer, sku_id, created_ago=timedelta(minutes=40))
    before = shop.snapshot(expired, sku_id)
    fake_alipay.mode = "garbage"

    result = payments.reconcile_payments()

    assert result == (
        "1 of 1 unpaid Alipay orders checked: 0 settled as paid, 0 expired and cancelled; "
        "stopped: Alipay unavailable"
    )
    assert shop.snapshot(expired, sku_id) == before


def test_the_job_is_scheduled_every_five_minutes() -> None:
    from app import app
    from chalicelib.jobs import JOBS

    schedules = {s.name: (s.schedule_expression, s.handler_string) for s in app.event_sources}

    assert schedules["job_reconcile_payments"] == (
        "rate(5 minutes)",
        "chalicelib.jobs.job_reconcile_payments",
    )
    assert JOBS["reconcile-payments"].func.__name__ == "job_reconcile_payments"


def test_the_settled_payment_keeps_alipays_answer(
    fake_alipay: Any, shop: Any, buyer: Any, db: Any
) -> None:
    from sqlalchemy import select

    from chalicelib.db.tables import payments as payments_table

    order_id = shop.order(buyer, shop.sku(), created_ago=timedelta(minutes=5))
    fake_alipay.paid(order_id, "5999.00", trade_no="T902")
    payments.reconcile_payments()
    with db.connect() as conn:
        raw = conn.scalar(select(payments_table.c.raw))
    assert json.loads(raw)["trade_no"] == "T902"
    assert json.loads(raw)["trade_status"] == "TRADE_SUCCESS"
