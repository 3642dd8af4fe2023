"""Refunds: the money goes back through Alipay or the wallet, exactly once.

The fake Alipay keeps the ledger of what really went back (`fake_alipay.refunds`): one
entry per out_request_no, however often it is asked for, as Alipay does.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.db.tables import balance_records, order_status_history, refunds, users
from chalicelib.money import MAX_FEN
from chalicelib.services import payments
from chalicelib.services import refunds as refund_service
from tests.conftest import post_json

PAID = "5999.00"


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer51")


@pytest.fixture
def staff(make_user: Any) -> Any:
    return make_user("staff_51", is_staff=True, is_superuser=True)


@pytest.fixture
def paid_alipay_order(
    fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, make_payment: Any
) -> Any:
    """An Alipay order paid 5999.00 (trade T51 at the fake), awaiting shipment; 9 in stock."""

    def make(status: int = 2, count: int = 1) -> tuple[str, int]:
        sku_id = make_sku(stock=9)
        order_id = make_order(buyer.id, sku_id, count=count, paid_at=utcnow(), status=status)
        amount = f"{5999 * count}.00"
        trade_no = f"T51{order_id}"
        fake_alipay.paid(order_id, amount, trade_no=trade_no)
        make_payment(order_id, amount=599900 * count, trade_no=trade_no)
        return order_id, sku_id

    return make


def refund_rows(db: Any) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return [
            (r.order_id, r.provider, r.amount, r.status, r.actor)
            for r in conn.execute(select(refunds).order_by(refunds.c.id))
        ]


def history(db: Any, order_id: str) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return [
            (h.from_status, h.to_status, h.actor, h.reason)
            for h in conn.execute(
                select(order_status_history)
                .where(order_status_history.c.order_id == order_id)
                .order_by(order_status_history.c.id)
            )
        ]


def refund_request(client: Any, staff: Any, order_id: str, body: Any, **headers: str) -> Any:
    from chalicelib.services import accounts

    auth = {"Authorization": f"Bearer {accounts.token_for(staff)}", **headers}
    return post_json(client, f"/meiduo_admin/orders/{order_id}/refunds/", body, auth)


def settle_later(minutes: int = 1) -> str:
    """The reconcile job's run a little later (refunds are asked about after 10 s)."""
    return payments.reconcile_payments(
        resources.transaction, resources.alipay(), utcnow() + timedelta(minutes=minutes)
    )


# --- the buyer's cancel of a paid order ------------------------------------------------------


def test_the_buyers_cancel_of_a_paid_alipay_order_refunds_it_and_returns_the_stock(
    paid_alipay_order: Any,
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    # given a paid, unshipped Alipay order of 5999.00
    order_id, sku_id = paid_alipay_order()

    # when the buyer cancels it
    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    # then the money went back once at Alipay, the order is cancelled, its stock returned
    assert response.status_code == 200
    body = response.json_body
    assert (body["status"], body["status_name"]) == (6, "已取消")
    (refund,) = body["refunds"]
    assert (refund["amount"], refund["status"]) == (PAID, "succeeded")
    assert [
        (r["out_trade_no"], r["out_request_no"], r["refund_amount"]) for r in fake_alipay.refunds
    ] == [(order_id, refund["refund_no"], PAID)]
    assert shop.snapshot(order_id, sku_id)["stock"] == 10
    assert refund_rows(db) == [(order_id, "alipay", 599900, "succeeded", f"user:{buyer.id}")]
    assert history(db, order_id)[1:] == [
        (
            2,
            2,
            f"user:{buyer.id}",
            f"refund {refund['refund_no']} of 5999.00 (alipay): cancelled by the buyer",
        ),
        (
            2,
            6,
            f"user:{buyer.id}",
            f"refunded in full ({refund['refund_no']}) before shipping; stock returned",
        ),
    ]
    # and the order's detail carries the refund
    detail = client.http.get(f"/orders/{order_id}/", headers=auth_headers(buyer)).json_body
    assert detail["refunds"] == body["refunds"]


def test_the_buyers_cancel_of_a_paid_balance_order_credits_the_wallet(
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    # given a balance order of 5999.00 paid from a wallet that has 1.00 left
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id, pay_method="balance", paid_at=utcnow())
    with db.begin() as conn:
        conn.execute(users.update().where(users.c.id == buyer.id).values(balance=100))

    # when the buyer cancels it
    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    # then the balance is back up, with a refund ledger row, and Alipay was never asked
    assert response.status_code == 200
    assert response.json_body["status"] == 6
    assert [(r["amount"], r["status"]) for r in response.json_body["refunds"]] == [
        (PAID, "succeeded")
    ]
    assert fake_alipay.methods_called() == []
    with db.connect() as conn:
        assert conn.scalar(select(users.c.balance).where(users.c.id == buyer.id)) == 600000
        ledger = conn.execute(
            select(
                balance_records.c.amount,
                balance_records.c.kind,
                balance_records.c.order_id,
                balance_records.c.balance_after,
            )
        ).all()
    assert [tuple(r) for r in ledger] == [(599900, "refund", order_id, 600000)]
    assert shop.snapshot(order_id, sku_id)["stock"] == 10
    assert refund_rows(db) == [(order_id, "balance", 599900, "succeeded", f"user:{buyer.id}")]
    assert [h[:3] for h in history(db, order_id)[1:]] == [
        (2, 2, f"user:{buyer.id}"),
        (2, 6, f"user:{buyer.id}"),
    ]


def test_a_shipped_order_cannot_be_cancelled_and_nothing_is_refunded(
    paid_alipay_order: Any,
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    order_id, sku_id = paid_alipay_order(status=3)
    before = shop.snapshot(order_id, sku_id)

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert (response.status_code, response.json_body["code"]) == (409, "invalid_status")
    assert shop.snapshot(order_id, sku_id) == before
    assert (fake_alipay.refunds, refund_rows(db)) == ([], [])


def test_with_alipay_down_the_buyers_cancel_is_a_503_and_changes_nothing(
    paid_alipay_order: Any,
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    order_id, sku_id = paid_alipay_order()
    before = shop.snapshot(order_id, sku_id)
    fake_alipay.stop()

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert response.status_code == 503
    assert shop.snapshot(order_id, sku_id) == before
    assert refund_rows(db) == []


def test_when_alipay_refuses_the_cancel_is_a_409_and_the_order_stays_paid(
    paid_alipay_order: Any,
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    order_id, sku_id = paid_alipay_order()
    del fake_alipay.trades[order_id]  # Alipay knows no such trade

    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    assert (response.status_code, response.json_body["code"]) == (409, "refund_failed")
    assert shop.snapshot(order_id, sku_id)["status"] == 2
    assert shop.snapshot(order_id, sku_id)["stock"] == 9
    assert refund_rows(db) == [(order_id, "alipay", 599900, "failed", f"user:{buyer.id}")]


# --- staff refunds ---------------------------------------------------------------------------


def test_staff_refund_part_then_the_rest_which_cancels_the_unshipped_order(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, sku_id = paid_alipay_order()

    first = refund_request(client, staff, order_id, {"amount": "1000.00", "reason": "划痕"})

    assert first.status_code == 201
    assert {k: first.json_body[k] for k in ("order_id", "amount", "status", "reason")} == {
        "order_id": order_id,
        "amount": "1000.00",
        "status": "succeeded",
        "reason": "划痕",
    }
    assert shop.snapshot(order_id, sku_id)["status"] == 2  # still to ship
    assert shop.snapshot(order_id, sku_id)["stock"] == 9

    rest = refund_request(client, staff, order_id, {})  # the default: what is left

    assert (rest.status_code, rest.json_body["amount"], rest.json_body["status"]) == (
        201,
        "4999.00",
        "succeeded",
    )
    after = shop.snapshot(order_id, sku_id)
    assert (after["status"], after["stock"]) == (6, 10)
    assert [(r["out_request_no"], r["refund_amount"]) for r in fake_alipay.refunds] == [
        (first.json_body["refund_no"], "1000.00"),
        (rest.json_body["refund_no"], "4999.00"),
    ]
    assert [h[:3] for h in history(db, order_id)[1:]] == [
        (2, 2, f"staff:{staff.id}"),
        (2, 2, f"staff:{staff.id}"),
        (2, 6, f"staff:{staff.id}"),
    ]
    assert history(db, order_id)[1][3] == (
        f"refund {first.json_body['refund_no']} of 1000.00 (alipay): 划痕"
    )
    # the console's order detail shows both
    from chalicelib.services import accounts

    detail = client.http.get(
        f"/meiduo_admin/orders/{order_id}/",
        headers={"Authorization": f"Bearer {accounts.token_for(staff)}"},
    ).json_body
    assert [(r["amount"], r["status"], r["actor"]) for r in detail["refunds"]] == [
        ("1000.00", "succeeded", f"staff:{staff.id}"),
        ("4999.00", "succeeded", f"staff:{staff.id}"),
    ]


def test_a_refund_after_shipping_is_recorded_and_leaves_the_stock(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, sku_id = paid_alipay_order(status=4)

    response = refund_request(client, staff, order_id, {"reason": "退货"})

    assert (response.status_code, response.json_body["status"]) == (201, "succeeded")
    after = shop.snapshot(order_id, sku_id)
    assert (after["status"], after["stock"]) == (4, 9)
    assert [h[:2] for h in history(db, order_id)[1:]] == [(4, 4)]


def test_more_than_is_left_is_a_400_and_changes_nothing(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, sku_id = paid_alipay_order()
    assert refund_request(client, staff, order_id, {"amount": "5000.00"}).status_code == 201
    before = shop.snapshot(order_id, sku_id)

    response = refund_request(client, staff, order_id, {"amount": "999.01"})

    assert response.status_code == 400
    assert response.json_body == {"amount": ["At most 999.00 is left to refund."]}
    assert shop.snapshot(order_id, sku_id) == before
    assert len(refund_rows(db)) == 1
    assert len(fake_alipay.refunds) == 1


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "abc", 1.5])
def test_an_amount_that_is_not_a_positive_sum_is_a_400(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any, amount: Any
) -> None:
    order_id, _ = paid_alipay_order()

    response = refund_request(client, staff, order_id, {"amount": amount})

    assert response.status_code == 400
    assert list(response.json_body) == ["amount"]
    assert refund_rows(db) == []


@pytest.mark.parametrize("status", [1, 6])
def test_an_unpaid_or_cancelled_order_cannot_be_refunded(
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    db: Any,
    staff: Any,
    client: Any,
    status: int,
) -> None:
    order_id = make_order(buyer.id, make_sku(), status=status)

    response = refund_request(client, staff, order_id, {})

    assert (response.status_code, response.json_body["code"]) == (409, "invalid_status")
    assert (refund_rows(db), fake_alipay.methods_called()) == ([], [])


def test_a_paid_alipay_order_without_its_payment_row_cannot_be_refunded(
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    shop: Any,
    db: Any,
    staff: Any,
    client: Any,
) -> None:
    # given an Alipay order marked paid whose payment was never recorded
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id, paid_at=utcnow())

    # when staff refund it
    response = refund_request(client, staff, order_id, {})

    # then it is a 409 naming the missing payment, and nothing is refunded or changed
    assert (response.status_code, response.json_body) == (
        409,
        {"detail": "No Alipay payment is recorded for this order.", "code": "invalid_status"},
    )
    assert (refund_rows(db), fake_alipay.methods_called()) == ([], [])
    assert (
        shop.snapshot(order_id, sku_id)["status"],
        shop.snapshot(order_id, sku_id)["stock"],
    ) == (
        2,
        9,
    )


def test_a_wallet_refund_past_the_balance_ceiling_is_a_409_and_changes_nothing(
    fake_alipay: Any,
    shop: Any,
    db: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    client: Any,
    auth_headers: Any,
) -> None:
    # given a paid balance order of 5999.00 and a wallet 1.00 below the largest balance
    sku_id = make_sku(stock=9)
    order_id = make_order(buyer.id, sku_id, pay_method="balance", paid_at=utcnow())
    with db.begin() as conn:
        conn.execute(users.update().where(users.c.id == buyer.id).values(balance=MAX_FEN - 100))

    # when the buyer cancels it
    response = client.http.post(f"/orders/{order_id}/cancel/", headers=auth_headers(buyer))

    # then it is a 409, and the order, the stock, the wallet and its ledger are as they were
    assert (response.status_code, response.json_body["code"]) == (409, "balance_ceiling")
    assert (
        shop.snapshot(order_id, sku_id)["status"],
        shop.snapshot(order_id, sku_id)["stock"],
    ) == (
        2,
        9,
    )
    with db.connect() as conn:
        assert conn.scalar(select(users.c.balance).where(users.c.id == buyer.id)) == MAX_FEN - 100
        assert conn.execute(select(balance_records)).all() == []
    assert refund_rows(db) == []


def test_an_idempotency_key_older_than_a_day_starts_a_new_refund(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any
) -> None:
    # given a refund made with a key 25 hours ago
    order_id, _ = paid_alipay_order()
    key = {"Idempotency-Key": "refund-old"}
    first = refund_request(client, staff, order_id, {"amount": "10.00"}, **key)
    with db.begin() as conn:
        conn.execute(refunds.update().values(create_time=utcnow() - timedelta(hours=25)))

    # when the same key and body come again
    again = refund_request(client, staff, order_id, {"amount": "10.00"}, **key)

    # then it is a new refund, under a new number: both went back
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body["refund_no"] != first.json_body["refund_no"]
    assert [row[2:4] for row in refund_rows(db)] == [(1000, "succeeded"), (1000, "succeeded")]
    assert len(fake_alipay.refunds) == 2


def test_an_unknown_order_is_a_404(fake_alipay: Any, staff: Any, client: Any) -> None:
    assert refund_request(client, staff, "20990101000000000000000000000001", {}).status_code == 404


def test_with_alipay_down_a_staff_refund_is_a_503_and_records_nothing(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, sku_id = paid_alipay_order()
    before = shop.snapshot(order_id, sku_id)
    fake_alipay.stop()

    response = refund_request(client, staff, order_id, {"amount": "1.00"})

    assert response.status_code == 503
    assert response.headers.get("Retry-After")
    assert shop.snapshot(order_id, sku_id) == before
    assert refund_rows(db) == []


# --- lost answers: pending, then settled by the reconcile job -----------------------------


def test_a_refund_whose_answer_was_a_5xx_stays_pending_until_the_reconcile_job(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    # given Alipay refunds but its answer is lost in a 502
    order_id, sku_id = paid_alipay_order()
    fake_alipay.refund_fault = "5xx"

    response = refund_request(client, staff, order_id, {})

    # then the refund is pending and the order untouched
    assert (response.status_code, response.json_body["status"]) == (201, "pending")
    assert shop.snapshot(order_id, sku_id)["status"] == 2
    # a second full refund is refused: the pending one counts
    assert refund_request(client, staff, order_id, {}).status_code == 400

    # when the reconcile job runs (too soon it leaves the refund alone)
    assert settle_later(minutes=0).endswith("settled as paid")
    result = settle_later()

    # then Alipay's query settles it: succeeded, the order cancelled, one refund at Alipay
    assert result == (
        "0 of 0 unpaid Alipay orders checked: 0 settled as paid; "
        "1 of 1 pending refunds checked: 1 settled"
    )
    assert refund_rows(db) == [(order_id, "alipay", 599900, "succeeded", f"staff:{staff.id}")]
    after = shop.snapshot(order_id, sku_id)
    assert (after["status"], after["stock"]) == (6, 10)
    assert len(fake_alipay.refunds) == 1
    assert fake_alipay.methods_called()[-1] == "alipay.trade.fastpay.refund.query"
    # and a second run has nothing left to do
    assert settle_later() == "0 of 0 unpaid Alipay orders checked: 0 settled as paid"


def test_a_refund_timing_out_is_pending_and_settled_once(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any
) -> None:
    from chalicelib.adapters.alipay import alipay_settings, build_client

    # given an Alipay that refunds, then answers after the client gave up
    order_id, sku_id = paid_alipay_order()
    impatient = build_client(alipay_settings(), timeout=0.3)
    fake_alipay.refund_fault, fake_alipay.fault_delay = "timeout", 1.0

    refund = refund_service.refund_order(
        resources.transaction, impatient, order_id, actor=f"staff:{staff.id}"
    )

    assert refund.status == "pending"
    settle_later()
    assert refund_rows(db) == [(order_id, "alipay", 599900, "succeeded", f"staff:{staff.id}")]
    assert len(fake_alipay.refunds) == 1
    assert shop.snapshot(order_id, sku_id)["status"] == 6


def test_a_refund_alipay_never_did_is_asked_for_again_with_the_same_number(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, db: Any, staff: Any, client: Any
) -> None:
    # given Alipay answers ACQ.SYSTEM_ERROR and refunds nothing
    order_id, _ = paid_alipay_order()
    fake_alipay.refund_fault = "system_error"
    pending = refund_request(client, staff, order_id, {"amount": "100.00"}).json_body
    assert (pending["status"], fake_alipay.refunds) == ("pending", [])

    # when the reconcile job runs: the query finds no refund, so it is asked for again
    settle_later()

    # then it is refunded, once, under its own number
    assert [(r["out_request_no"], r["refund_amount"]) for r in fake_alipay.refunds] == [
        (pending["refund_no"], "100.00")
    ]
    assert fake_alipay.methods_called()[-2:] == [
        "alipay.trade.fastpay.refund.query",
        "alipay.trade.refund",
    ]
    assert refund_rows(db)[0][3] == "succeeded"


def test_with_alipay_down_the_reconcile_job_leaves_pending_refunds_pending(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, _ = paid_alipay_order()
    fake_alipay.refund_fault = "5xx"
    assert refund_request(client, staff, order_id, {}).json_body["status"] == "pending"
    fake_alipay.stop()

    assert settle_later().endswith(
        "1 pending refunds checked: 0 settled, stopped: Alipay unavailable"
    )
    assert refund_rows(db)[0][3] == "pending"


# --- idempotency -------------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_refund_and_another_body_is_a_409(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, _ = paid_alipay_order()
    key = {"Idempotency-Key": "refund-51"}

    first = refund_request(client, staff, order_id, {"amount": "10.00"}, **key)
    again = refund_request(client, staff, order_id, {"amount": "10.00"}, **key)
    other = refund_request(client, staff, order_id, {"amount": "20.00"}, **key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    assert (other.status_code, other.json_body["code"]) == (409, "idempotency_conflict")
    assert len(refund_rows(db)) == 1
    assert len(fake_alipay.refunds) == 1


def test_a_bad_idempotency_key_is_a_400(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, _ = paid_alipay_order()

    response = refund_request(client, staff, order_id, {}, **{"Idempotency-Key": "é" * 3})

    assert response.status_code == 400
    assert list(response.json_body) == ["Idempotency-Key"]
    assert refund_rows(db) == []


# --- late payments (refund_needed) ------------------------------------------------------------


def test_a_late_payment_is_refunded_and_leaves_the_refund_list(
    fake_alipay: Any,
    db: Any,
    buyer: Any,
    staff: Any,
    make_sku: Any,
    make_order: Any,
    make_payment: Any,
    client: Any,
) -> None:
    from chalicelib.db.tables import orders as orders_table
    from chalicelib.services import accounts

    # given a cancelled order whose payment arrived after its stock was gone
    order_id = make_order(buyer.id, make_sku(), status=6, needs_refund=True)
    fake_alipay.paid(order_id, PAID, trade_no="T51LATE")
    payment_id = make_payment(order_id, amount=599900, trade_no="T51LATE", status="refund_needed")
    headers = {
        "Authorization": f"Bearer {accounts.token_for(staff)}",
        "Content-Type": "application/json",
    }

    # when staff refund it
    response = client.http.post(f"/meiduo_admin/payments/{payment_id}/refund/", headers=headers)

    # then Alipay gave it back, the payment is refunded and no longer listed
    assert response.status_code == 200
    body = response.json_body
    assert (body["id"], body["status"], body["amount"]) == (payment_id, "refunded", PAID)
    assert (body["refund"]["status"], body["refund"]["amount"]) == ("succeeded", PAID)
    assert [(r["out_trade_no"], r["refund_amount"]) for r in fake_alipay.refunds] == [
        (order_id, PAID)
    ]
    listed = client.http.get("/meiduo_admin/payments/refunds/", headers=headers).json_body
    assert listed["count"] == 0
    with db.connect() as conn:
        order = conn.execute(select(orders_table).where(orders_table.c.order_id == order_id)).one()
    assert (order.status, order.needs_refund) == (6, False)
    # and a second request is refused, nothing more refunded
    again = client.http.post(f"/meiduo_admin/payments/{payment_id}/refund/", headers=headers)
    assert (again.status_code, again.json_body["code"]) == (409, "invalid_status")
    assert len(fake_alipay.refunds) == 1
    assert (
        client.http.post("/meiduo_admin/payments/999999/refund/", headers=headers).status_code
        == 404
    )


def test_refund_routes_are_for_staff_only(
    paid_alipay_order: Any, fake_alipay: Any, buyer: Any, client: Any, auth_headers: Any
) -> None:
    order_id, _ = paid_alipay_order()

    response = post_json(
        client, f"/meiduo_admin/orders/{order_id}/refunds/", {}, auth_headers(buyer)
    )

    assert response.status_code == 403
    assert json.loads(response.body)["code"] == "permission_denied"


def test_an_order_whose_full_refund_is_pending_cannot_ship(
    paid_alipay_order: Any, fake_alipay: Any, shop: Any, staff: Any, client: Any
) -> None:
    from chalicelib.services import accounts
    from tests.conftest import put_json

    order_id, sku_id = paid_alipay_order()
    fake_alipay.refund_fault = "5xx"
    assert refund_request(client, staff, order_id, {}).json_body["status"] == "pending"
    headers = {"Authorization": f"Bearer {accounts.token_for(staff)}"}

    response = put_json(client, f"/meiduo_admin/orders/{order_id}/status/", {"status": 3}, headers)

    assert (response.status_code, json.loads(response.body)["code"]) == (409, "refund_pending")
    assert shop.snapshot(order_id, sku_id)["status"] == 2


def test_asking_again_for_a_late_payments_lost_refund_reuses_its_number(
    fake_alipay: Any,
    db: Any,
    buyer: Any,
    staff: Any,
    make_sku: Any,
    make_order: Any,
    make_payment: Any,
    client: Any,
) -> None:
    from chalicelib.services import accounts

    # given a late payment whose refund was made at Alipay but the answer lost
    order_id = make_order(buyer.id, make_sku(), status=6, needs_refund=True)
    fake_alipay.paid(order_id, PAID, trade_no="T51LOST")
    payment_id = make_payment(order_id, amount=599900, trade_no="T51LOST", status="refund_needed")
    headers = {"Authorization": f"Bearer {accounts.token_for(staff)}"}
    fake_alipay.refund_fault = "5xx"
    first = client.http.post(f"/meiduo_admin/payments/{payment_id}/refund/", headers=headers)
    assert (first.json_body["status"], first.json_body["refund"]["status"]) == (
        "refund_needed",
        "pending",
    )

    # when staff ask again
    again = client.http.post(f"/meiduo_admin/payments/{payment_id}/refund/", headers=headers)

    # then the same refund number is asked for (fund_change N, confirmed by a query): done once
    assert again.status_code == 200
    assert again.json_body["status"] == "refunded"
    assert again.json_body["refund"]["refund_no"] == first.json_body["refund"]["refund_no"]
    assert fake_alipay.methods_called()[-2:] == [
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
    ]
    assert len(fake_alipay.refunds) == 1
    assert refund_rows(db) == [(order_id, "alipay", 599900, "succeeded", f"staff:{staff.id}")]


def test_an_answer_signed_by_another_key_leaves_the_refund_pending(
    paid_alipay_order: Any, fake_alipay: Any, db: Any, staff: Any, client: Any
) -> None:
    order_id, _ = paid_alipay_order()
    fake_alipay.mode = "wrong_key"

    response = refund_request(client, staff, order_id, {"amount": "1.00"})

    # Alipay may have refunded (it did here): never "failed" on an answer we cannot trust
    assert (response.status_code, response.json_body["status"]) == (201, "pending")
    fake_alipay.mode = "normal"
    settle_later()
    assert refund_rows(db)[0][3] == "succeeded"
    assert len(fake_alipay.refunds) == 1
