"""POST /payments/alipay/notify/: verified, recorded once, never lost, never forged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.payments.conftest import APP_ID, post_notify

PRICE = 599900  # 5999.00


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer01")


def test_a_valid_notify_pays_the_order_once(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    # given an unpaid Alipay order of 5999.00 + 10.00 freight
    sku_id = make_sku(stock=4)
    order_id = make_order(buyer.id, sku_id, freight=1000)
    # when Alipay notifies a payment of exactly that amount
    response = post_notify(client, fake_alipay.notify(order_id, "6009.00", trade_no="T100"))
    # then the answer is exactly `success`, one payment is recorded and the order is paid
    assert response.status_code == 200
    assert response.body == b"success"
    assert response.headers["Content-Type"].startswith("text/plain")
    after = shop.snapshot(order_id, sku_id)
    assert after["status"] == 2
    assert after["paid_at"] is not None
    assert after["payments"] == [(order_id, "T100", 600900, "paid")]
    assert after["history"] == [(None, 1, f"user:{buyer.id}"), (1, 2, "alipay")]
    assert after["stock"] == 4  # stock was taken when the order was placed
    assert after["needs_refund"] is False


def test_the_notify_is_verified_with_a_chinese_subject_and_spaces(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fields = fake_alipay.notify(order_id, "5999.00", subject="格力 空调 & 电视=2件+赠品")
    assert post_notify(client, fields).body == b"success"
    assert shop.snapshot(order_id)["status"] == 2


def _tampered(fake: Any, order_id: str) -> dict[str, str]:
    fields = fake.notify(order_id, "5999.00")
    fields["buyer_id"] = "2088000000000666"  # any field changed after signing
    return fields


def _unsigned(fake: Any, order_id: str) -> dict[str, str]:
    fields = fake.notify(order_id, "5999.00")
    del fields["sign"]
    return fields


def _rsa1(fake: Any, order_id: str) -> dict[str, str]:
    fields = fake.notify(order_id, "5999.00")
    fields["sign_type"] = "RSA"
    return fields


def _garbled_sign(fake: Any, order_id: str) -> dict[str, str]:
    fields = fake.notify(order_id, "5999.00")
    fields["sign"] = "not base64 at all!"
    return fields


REFUSED = {
    "tampered field": _tampered,
    "signed with another key": lambda fake, oid: fake.notify(oid, "5999.00", keys=fake.wrong_keys),
    "no sign": _unsigned,
    "sign_type RSA": _rsa1,
    "garbled sign": _garbled_sign,
    "unknown order": lambda fake, oid: fake.notify("20990101000000000000000000000001", "5999.00"),
    "amount 0.01 short": lambda fake, oid: fake.notify(oid, "5998.99"),
    "amount 0.01 over": lambda fake, oid: fake.notify(oid, "5999.01"),
    "amount not money": lambda fake, oid: fake.notify(oid, "5999.001"),
    "wrong app_id": lambda fake, oid: fake.notify(oid, "5999.00", app_id="2021009999999999"),
    "WAIT_BUYER_PAY": lambda fake, oid: fake.notify(oid, "5999.00", trade_status="WAIT_BUYER_PAY"),
    "TRADE_CLOSED": lambda fake, oid: fake.notify(oid, "5999.00", trade_status="TRADE_CLOSED"),
    "no trade_no": lambda fake, oid: fake.notify(oid, "5999.00", trade_no=""),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_notify_answers_failure_and_writes_nothing(
    case: str,
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    caplog: Any,
) -> None:
    sku_id = make_sku(stock=3)
    order_id = make_order(buyer.id, sku_id)
    before = shop.snapshot(order_id, sku_id)

    response = post_notify(client, REFUSED[case](fake_alipay, order_id))

    assert response.status_code == 200
    assert response.body == b"failure"
    assert shop.snapshot(order_id, sku_id) == before
    assert any("alipay notify refused" in r.getMessage() for r in caplog.records)


def test_a_body_that_is_not_a_form_is_failure(client: Any, fake_alipay: Any) -> None:
    for body in ("a=1&a=2", "%ff%fe=1", "&&&"):
        response = client.http.post(
            "/payments/alipay/notify/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.body == b"failure", body


def test_a_json_notify_is_refused_by_content_type(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    response = post_notify(
        client, fake_alipay.notify(order_id, "5999.00"), content_type="application/json"
    )
    assert response.status_code == 415
    assert shop.snapshot(order_id)["status"] == 1


def test_replayed_ten_times_it_is_recorded_once(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fields = fake_alipay.notify(order_id, "5999.00", trade_no="T200")

    answers = [post_notify(client, fields).body for _ in range(10)]

    assert answers == [b"success"] * 10
    after = shop.snapshot(order_id)
    assert after["payments"] == [(order_id, "T200", PRICE, "paid")]
    assert [h for h in after["history"] if h[1] == 2] == [(1, 2, "alipay")]


def test_trade_finished_after_trade_success_changes_nothing(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    assert (
        post_notify(client, fake_alipay.notify(order_id, "5999.00", trade_no="T300")).body
        == b"success"
    )
    paid = shop.snapshot(order_id)

    finished = fake_alipay.notify(
        order_id, "5999.00", trade_no="T300", trade_status="TRADE_FINISHED"
    )

    assert post_notify(client, finished).body == b"success"
    assert shop.snapshot(order_id) == paid


def test_a_payment_after_cancellation_takes_the_stock_again(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    # given an order cancelled by the expiry job (its 2 units went back: stock 5)
    sku_id = make_sku(stock=5)
    order_id = make_order(buyer.id, sku_id, count=2, status=6)
    # when the buyer's payment arrives anyway
    response = post_notify(client, fake_alipay.notify(order_id, "11998.00", trade_no="T400"))
    # then the stock is taken again and the order is paid
    assert response.body == b"success"
    after = shop.snapshot(order_id, sku_id)
    assert after["status"] == 2
    assert after["stock"] == 3
    assert after["payments"] == [(order_id, "T400", 2 * PRICE, "paid")]
    assert after["history"][-1] == (6, 2, "alipay")
    assert after["needs_refund"] is False


def test_a_late_payment_without_stock_is_kept_for_a_refund(
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    make_user: Any,
    auth_headers: Any,
) -> None:
    # given a cancelled order whose SKU has sold out since (1 left, 2 wanted)
    sku_id = make_sku(stock=1)
    order_id = make_order(buyer.id, sku_id, count=2, status=6)
    # when its payment arrives
    response = post_notify(client, fake_alipay.notify(order_id, "11998.00", trade_no="T500"))
    # then it is recorded (answered success: Alipay must not retry) as needing a refund
    assert response.body == b"success"
    after = shop.snapshot(order_id, sku_id)
    assert after["status"] == 6
    assert after["stock"] == 1
    assert after["needs_refund"] is True
    assert after["payments"] == [(order_id, "T500", 2 * PRICE, "refund_needed")]
    # and staff see it in the refund list
    staff = make_user("staff01", is_staff=True, is_superuser=True)
    listing = client.http.get("/meiduo_admin/payments/refunds/", headers=auth_headers(staff))
    assert listing.status_code == 200
    body = listing.json_body
    assert body["count"] == 1
    (item,) = body["lists"]
    assert {
        k: item[k]
        for k in ("order_id", "user_id", "order_status", "provider", "trade_no", "amount")
    } == {
        "order_id": order_id,
        "user_id": buyer.id,
        "order_status": 6,
        "provider": "alipay",
        "trade_no": "T500",
        "amount": "11998.00",
    }
    # and a replay of the same notify adds nothing
    assert (
        post_notify(client, fake_alipay.notify(order_id, "11998.00", trade_no="T500")).body
        == b"success"
    )
    assert shop.snapshot(order_id, sku_id) == after


def test_a_second_payment_for_a_paid_order_is_kept_for_a_refund(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    assert (
        post_notify(client, fake_alipay.notify(order_id, "5999.00", trade_no="T600")).body
        == b"success"
    )

    second = post_notify(client, fake_alipay.notify(order_id, "5999.00", trade_no="T601"))

    assert second.body == b"success"
    after = shop.snapshot(order_id)
    assert after["status"] == 2
    assert after["needs_refund"] is True
    assert after["payments"] == [
        (order_id, "T600", PRICE, "paid"),
        (order_id, "T601", PRICE, "refund_needed"),
    ]


def test_the_refund_list_is_for_staff_only(
    client: Any, make_user: Any, auth_headers: Any, db: Any
) -> None:
    assert client.http.get("/meiduo_admin/payments/refunds/").status_code == 401
    buyer = make_user("buyer02")
    assert (
        client.http.get("/meiduo_admin/payments/refunds/", headers=auth_headers(buyer)).status_code
        == 403
    )
    staff = make_user("staff02", is_staff=True, is_superuser=True)
    empty = client.http.get(
        "/meiduo_admin/payments/refunds/?page=1&pagesize=5", headers=auth_headers(staff)
    )
    assert empty.json_body == {"count": 0, "lists": [], "page": 1, "pages": 1, "pagesize": 5}
    assert (
        client.http.get(
            "/meiduo_admin/payments/refunds/?page=0", headers=auth_headers(staff)
        ).status_code
        == 400
    )


def test_the_app_id_checked_is_the_configured_one(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    assert fake_alipay.app_id == APP_ID
    order_id = make_order(buyer.id, make_sku())
    assert (
        post_notify(client, fake_alipay.notify(order_id, "5999.00", app_id=APP_ID)).body
        == b"success"
    )
