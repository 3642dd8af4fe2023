"""Cancelling an unpaid Alipay order closes its trade first, so the cashier cannot take
money for an order that is gone; a buyer who already paid gets the order, not a refund."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import put_json


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer41")


def test_a_buyers_cancel_closes_the_open_trade_and_returns_the_stock(
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id)
    fake_alipay.waiting(order_id, "5999.00")

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert response.status_code == 200
    assert response.json_body["status"] == 6
    assert fake_alipay.trades[order_id]["trade_status"] == "TRADE_CLOSED"
    assert shop.snapshot(order_id, sku_id)["stock"] == 10


def test_a_buyer_who_already_paid_cannot_cancel_and_the_payment_is_settled(
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id)
    fake_alipay.paid(order_id, "5999.00", trade_no="2024050122001477")

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert response.status_code == 409
    assert response.json_body["code"] == "invalid_status"
    after = shop.snapshot(order_id, sku_id)
    assert after["status"] == 2
    assert after["payments"] == [(order_id, "2024050122001477", 599900, "paid")]
    assert after["stock"] == 9


def test_with_alipay_down_a_cancel_is_a_503_and_changes_nothing(
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id)
    before = shop.snapshot(order_id, sku_id)
    fake_alipay.stop()

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert response.status_code == 503
    assert shop.snapshot(order_id, sku_id) == before


def test_another_users_order_is_not_found_and_its_trade_untouched(
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    make_user: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.waiting(order_id, "5999.00")
    intruder = make_user("intruder1")

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(intruder))

    assert response.status_code == 404
    assert fake_alipay.methods_called() == []
    assert fake_alipay.trades[order_id]["trade_status"] == "WAIT_BUYER_PAY"


def test_a_balance_order_is_cancelled_without_asking_alipay(
    fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, client: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku(), pay_method="balance")

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert response.status_code == 200
    assert fake_alipay.methods_called() == []


def test_a_staff_cancel_closes_the_trade_too(
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    make_user: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.waiting(order_id, "5999.00")
    staff = make_user("staff_41", is_staff=True, is_superuser=True)

    response = put_json(
        client, f"/meiduo_admin/orders/{order_id}/status/", {"status": 6}, auth_headers(staff)
    )

    assert response.status_code == 200
    assert json.loads(response.body)["status"] == 6
    assert fake_alipay.trades[order_id]["trade_status"] == "TRADE_CLOSED"
