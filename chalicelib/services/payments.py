"""Alipay payments: the pay URL, the verified notify, late payments, reconciliation
(refunds live in services.refunds; the reconcile job settles their lost answers too).

Payments must be exact: every real payment recorded once, no forged one accepted,
none lost when it arrives late.

- Nothing Alipay is said to have sent is believed before its RSA2 signature verifies
  (notify, return query); then app_id, the trade status, the order and the amount (to
  the fen) are checked. A refusal writes nothing.
- Settling is one transaction (Saleor's webhook shape): lock the order row, ask "is
  this trade_no recorded already?" (a replay: change nothing), then record the payment
  (trade_no is unique) and move the order. Concurrent duplicates queue on the row lock;
  the unique trade_no is the backstop.
- A payment is never dropped. An order that expired or was cancelled before the money
  arrived takes its stock again and becomes paid (6 -> 2); when the stock is gone the
  payment is recorded as `refund_needed` and the order flagged for staff. So is a
  second payment for an order that is already paid.
- Alipay is asked (alipay.trade.query, close) outside any unit of work: a slow
  gateway must not hold row locks or a pooled connection. So the functions that ask
  it take `begin`, the entry point's unit-of-work factory, instead of a connection.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chalicelib import config
from chalicelib.clock import utcnow
from chalicelib.db.engine import UnitOfWork
from chalicelib.db.tables import orders, payments
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.money import format_yuan, parse_yuan
from chalicelib.pagination import Listing, PageRequest, listing, page_of
from chalicelib.services.order_states import Status, move

if TYPE_CHECKING:
    from chalicelib.adapters.alipay import AlipayClient
    from chalicelib.services.orders import OrderDetail

log = logging.getLogger("shop.payments")

PROVIDER = "alipay"
PAY_METHOD = "alipay"
PAID_TRADE_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
NOTIFY_PATH = "/payments/alipay/notify/"
RETURN_PATH = "/payments/alipay/return/"
SUBJECT = "家电之选订单 {order_id}"
# Less than this left before expires_at: the buyer could not finish at the cashier.
MIN_TIME_TO_PAY = timedelta(minutes=1)
# The notify normally settles an order within seconds; reconciliation looks at the
# orders it has not settled after this long.
RECONCILE_AFTER = timedelta(minutes=3)
RECONCILE_BATCH = 200
# A scheduled Lambda has 29 s; leave room for the last gateway call (5 s timeout).
RECONCILE_BUDGET_SECONDS = 20.0
MAX_TRADE_NO_LENGTH = 64
MAX_ORDER_ID_LENGTH = 32


class NotifyRejected(Exception):
    """A notify (or reported payment) we refuse; Alipay gets `failure` and retries."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PaymentReport:
    """A payment Alipay reported, its authenticity already established."""

    out_trade_no: str
    trade_no: str
    amount: int  # fen
    trade_status: str
    notify_id: str | None
    raw: str  # what Alipay sent, kept for audits


class Settlement(StrEnum):
    PAID = "paid"  # the unpaid order is paid now (1 -> 2)
    LATE_PAID = "late_paid"  # cancelled before the money came; stock taken again (6 -> 2)
    REFUND_NEEDED = "refund_needed"  # recorded; the money has to go back to the buyer
    ALREADY_RECORDED = "already_recorded"  # a replay or a duplicate: nothing changed


# --- paying at Alipay's cashier ------------------------------------------------------------


def alipay_page_pay_url(order: Row[Any], alipay: AlipayClient) -> str:
    """The cashier URL for an unpaid order; Alipay's trade ends when the order expires."""
    if order.expires_at - utcnow() < MIN_TIME_TO_PAY:
        raise Conflict("The time to pay this order has run out.", code="invalid_status")
    base_url = config.settings().api_base_url
    return alipay.page_pay_url(
        out_trade_no=order.order_id,
        subject=SUBJECT.format(order_id=order.order_id),
        total_amount=format_yuan(order.payment_amount),
        expires_at=order.expires_at,
        return_url=base_url + RETURN_PATH,
        notify_url=base_url + NOTIFY_PATH,
    )


def close_alipay_trade(order_id: str, alipay: AlipayClient) -> bool:
    """Close the order's trade at Alipay so it can no longer be paid.

    True when the trade is closed now, or Alipay never opened it (the buyer never
    reached the cashier); False when the buyer has paid: the order must be settled,
    not cancelled. Raises AlipayUnavailable when Alipay cannot be asked.
    """
    from chalicelib.adapters.alipay import CloseOutcome

    return alipay.close_trade(order_id) is not CloseOutcome.PAID


# --- cancelling: the one path for buyers, staff and the expiry job ---------------------------


class Cancellation(StrEnum):
    CANCELLED = "cancelled"  # 1 -> 6, stock returned
    NOT_UNPAID = "not_unpaid"  # nothing to do: paid, cancelled or gone meanwhile
    PAID_AT_ALIPAY = "paid_at_alipay"  # the trade was paid: settled instead


def close_and_cancel(
    begin: UnitOfWork, alipay: AlipayClient, order_id: str, *, actor: str, reason: str
) -> Cancellation:
    """Cancel an unpaid order and return its stock. An Alipay order's trade is closed at
    Alipay first (outside any unit), so an open cashier page cannot take money for an
    order that is gone; when Alipay says the buyer has paid, the payment is settled as
    the notify would settle it. The conditional move decides races. Raises
    AlipayUnavailable (a 503) when Alipay cannot be asked: nothing changes.
    """
    from chalicelib.services import orders as order_service

    with begin() as conn:
        row = conn.execute(
            select(orders.c.status, orders.c.pay_method).where(orders.c.order_id == order_id)
        ).first()
    if row is None or row.status != Status.UNPAID:
        return Cancellation.NOT_UNPAID
    if row.pay_method == PAY_METHOD and not close_alipay_trade(order_id, alipay):
        settle_from_alipay(begin, order_id, alipay)
        return Cancellation.PAID_AT_ALIPAY
    with begin() as conn:
        cancelled = order_service.cancel(conn, order_id, actor=actor, reason=reason)
    return Cancellation.CANCELLED if cancelled else Cancellation.NOT_UNPAID


def cancel_order(
    begin: UnitOfWork,
    alipay: AlipayClient,
    order_id: str,
    *,
    actor: str,
    user_id: int | None = None,
) -> OrderDetail:
    """A buyer (user_id: only their own order, anyone else's is 404) or staff cancel an
    unpaid order: close_and_cancel, then the order as it is now. 409 invalid_status when
    it is not unpaid, or turned out paid at Alipay. The buyer's cancel of a paid order
    not yet shipped refunds it in full (services.refunds.cancel_paid_order), which
    cancels it; staff refund paid orders through the refund route instead."""
    from chalicelib.services import orders as order_service

    with begin() as conn:
        current = order_service.get(conn, order_id, user_id=user_id)
    if user_id is not None and current.order.status == Status.PAID:
        from chalicelib.services import refunds

        refunds.cancel_paid_order(begin, alipay, order_id, user_id=user_id)
        with begin() as conn:
            return order_service.get(conn, order_id)
    reason = "cancelled by the buyer" if user_id is not None else "cancelled by staff"
    outcome = close_and_cancel(begin, alipay, order_id, actor=actor, reason=reason)
    if outcome is Cancellation.PAID_AT_ALIPAY:
        raise Conflict("The order has been paid at Alipay.", code="invalid_status")
    if outcome is Cancellation.NOT_UNPAID:
        raise order_service.invalid_status("Only unpaid orders can be cancelled.")
    with begin() as conn:
        return order_service.get(conn, order_id)


# --- the notify ----------------------------------------------------------------------------


def verified_alipay_notify(alipay: AlipayClient, params: Mapping[str, str]) -> PaymentReport:
    """Alipay's notify as a PaymentReport, or NotifyRejected. Touches no database.

    The signature is checked before anything is read from the fields.
    """
    if not alipay.verify(params):
        raise NotifyRejected("the signature does not verify with Alipay's public key")
    if params.get("app_id") != alipay.app_id:
        raise NotifyRejected(f"app_id {params.get('app_id')!r} is not this shop's")
    trade_status = params.get("trade_status", "")
    if trade_status not in PAID_TRADE_STATUSES:
        raise NotifyRejected(f"trade_status {trade_status!r} is not a payment")
    out_trade_no = params.get("out_trade_no", "")
    trade_no = params.get("trade_no", "")
    if not 0 < len(out_trade_no) <= MAX_ORDER_ID_LENGTH:
        raise NotifyRejected(f"out_trade_no {out_trade_no!r} cannot be an order id")
    if not 0 < len(trade_no) <= MAX_TRADE_NO_LENGTH:
        raise NotifyRejected(f"trade_no {trade_no!r} is missing or too long")
    try:
        amount = parse_yuan(params.get("total_amount", ""))
    except ValueError:
        amount = 0
    if amount <= 0:
        raise NotifyRejected(f"total_amount {params.get('total_amount')!r} is not a payment")
    raw = {k: v for k, v in params.items() if k != "sign"}
    return PaymentReport(
        out_trade_no=out_trade_no,
        trade_no=trade_no,
        amount=amount,
        trade_status=trade_status,
        notify_id=params.get("notify_id") or None,
        raw=json.dumps(raw, ensure_ascii=False, sort_keys=True),
    )


def settle_alipay_payment(conn: Connection, report: PaymentReport) -> Settlement:
    """Record a reported payment once and move its order, in the caller's transaction.

    NotifyRejected (nothing written) for an unknown order or an amount that is not the
    order's payment_amount exactly.
    """
    order = conn.execute(
        select(orders.c.order_id, orders.c.status, orders.c.payment_amount)
        .where(orders.c.order_id == report.out_trade_no)
        .with_for_update()
    ).first()
    if order is None:
        raise NotifyRejected(f"no order {report.out_trade_no!r}")
    if report.amount != order.payment_amount:
        raise NotifyRejected(
            f"total_amount {format_yuan(report.amount)} is not the order's "
            f"{format_yuan(order.payment_amount)}"
        )
    if _recorded(conn, report):
        return Settlement.ALREADY_RECORDED
    try:
        with conn.begin_nested():
            settlement = _apply(conn, order, report)
            conn.execute(
                payments.insert().values(
                    order_id=order.order_id,
                    provider=PROVIDER,
                    trade_no=report.trade_no,
                    amount=report.amount,
                    status="refund_needed" if settlement is Settlement.REFUND_NEEDED else "paid",
                    notify_id=report.notify_id,
                    raw=report.raw,
                    create_time=utcnow(),
                )
            )
    except IntegrityError:
        # trade_no recorded by a transaction that committed after our check.
        log.info("alipay trade %s was recorded concurrently", report.trade_no)
        return Settlement.ALREADY_RECORDED
    log_level = logging.WARNING if settlement is Settlement.REFUND_NEEDED else logging.INFO
    log.log(log_level, "order %s: alipay trade %s %s", order.order_id, report.trade_no, settlement)
    return settlement


def _recorded(conn: Connection, report: PaymentReport) -> bool:
    recorded_for = conn.scalar(
        select(payments.c.order_id).where(payments.c.trade_no == report.trade_no)
    )
    if recorded_for is not None and recorded_for != report.out_trade_no:
        log.error(
            "alipay trade %s reported for order %s was recorded for order %s",
            report.trade_no,
            report.out_trade_no,
            recorded_for,
        )
    return recorded_for is not None


def _apply(conn: Connection, order: Any, report: PaymentReport) -> Settlement:
    """Move the (locked) order for a new payment; which move depends on where it is."""
    from chalicelib.services import orders as order_service

    reason = f"alipay trade {report.trade_no}"
    now = utcnow()
    if order.status == Status.UNPAID and move(
        conn,
        order.order_id,
        from_status=Status.UNPAID,
        to_status=Status.PAID,
        actor="alipay",
        reason=reason,
        paid_at=now,
    ):
        return Settlement.PAID
    if (
        order.status == Status.CANCELLED
        and order_service.retake_stock(conn, order.order_id)
        and move(
            conn,
            order.order_id,
            from_status=Status.CANCELLED,
            to_status=Status.PAID,
            actor="alipay",
            reason=f"{reason} arrived after cancellation; stock taken again",
            paid_at=now,
        )
    ):
        return Settlement.LATE_PAID
    # Cancelled with the stock gone, or paid already (a second payment): the money
    # goes back from the admin's refund list (POST /meiduo_admin/payments/{id}/refund/).
    conn.execute(
        update(orders)
        .where(orders.c.order_id == order.order_id)
        .values(needs_refund=True, update_time=now)
    )
    return Settlement.REFUND_NEEDED


# --- asking Alipay ---------------------------------------------------------------------------


def settle_from_alipay(begin: UnitOfWork, order_id: str, alipay: AlipayClient) -> Settlement | None:
    """Ask Alipay about the order's trade and settle it if paid; None if not paid.

    The question is asked outside any unit of work; settling uses the notify's path.
    Raises AlipayUnavailable when Alipay cannot be asked.
    """
    trade = alipay.query_trade(order_id)
    if trade is None or not trade.is_paid:
        return None
    try:
        report = PaymentReport(
            out_trade_no=order_id,
            trade_no=trade.trade_no,
            amount=parse_yuan(trade.total_amount),
            trade_status=trade.trade_status,
            notify_id=None,
            raw=json.dumps(trade.raw, ensure_ascii=False, sort_keys=True),
        )
        with begin() as conn:
            return settle_alipay_payment(conn, report)
    except (ValueError, NotifyRejected) as exc:
        log.error("order %s: Alipay reports a payment we cannot settle: %s", order_id, exc)
        return None


def _order(conn: Connection, order_id: str, *, user_id: int | None = None) -> Row[Any]:
    query = select(orders).where(orders.c.order_id == order_id)
    if user_id is not None:
        query = query.where(orders.c.user_id == user_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No such order.")
    return row


def _settled_order(begin: UnitOfWork, alipay: AlipayClient, order: Row[Any]) -> Row[Any]:
    """The order again after asking Alipay, if it was settled as paid meanwhile."""
    if settle_from_alipay(begin, order.order_id, alipay) is None:
        return order
    with begin() as conn:
        return _order(conn, order.order_id)


def payment_status(
    begin: UnitOfWork, alipay: AlipayClient, *, user_id: int, order_id: str
) -> Row[Any]:
    """The buyer's order, after asking Alipay while it is an unpaid Alipay order.

    Another user's order is not found. Raises AlipayUnavailable (a 503) when Alipay
    cannot be asked: the buyer would otherwise be told "unpaid" after paying.
    """
    with begin() as conn:
        order = _order(conn, order_id, user_id=user_id)
    if order.status != Status.UNPAID or order.pay_method != PAY_METHOD:
        return order
    return _settled_order(begin, alipay, order)


def order_after_return(
    begin: UnitOfWork, alipay: AlipayClient, params: Mapping[str, str]
) -> Row[Any]:
    """The order the buyer comes back to from Alipay's cashier (the signed return query).

    The return query is only a hint: the order is settled by the notify, or here by
    asking Alipay itself, never on the query's word. When Alipay cannot be asked the
    order is shown as it is; the notify and reconciliation settle it later.
    """
    from chalicelib.adapters.alipay import AlipayUnavailable

    if not alipay.verify(params):
        raise ValidationError("The query is not signed by Alipay.")
    if params.get("app_id") != alipay.app_id:
        raise ValidationError("The query is not for this shop's Alipay app.")
    with begin() as conn:
        order = _order(conn, params.get("out_trade_no", ""))
    if order.status != Status.UNPAID:
        return order
    try:
        return _settled_order(begin, alipay, order)
    except AlipayUnavailable as exc:
        log.warning(
            "order %s: return without a settle, Alipay unavailable: %s", order.order_id, exc
        )
        return order


# --- reconciliation (job reconcile-payments) ------------------------------------------------


def reconcile_payments(begin: UnitOfWork, alipay: AlipayClient, now: datetime) -> str:
    """Settle what the notify missed: unpaid Alipay orders older than RECONCILE_AFTER and
    not yet expired are asked about (trade.query) and settled when paid. Expired ones
    belong to the expiry job, which closes their trade before cancelling. Each order in
    its own short unit; a second run changes nothing twice.
    """
    from chalicelib.adapters.alipay import AlipayUnavailable

    started = time.monotonic()
    with begin() as conn:
        due = conn.scalars(
            select(orders.c.order_id)
            .where(
                orders.c.status == int(Status.UNPAID),
                orders.c.pay_method == PAY_METHOD,
                orders.c.create_time <= now - RECONCILE_AFTER,
                orders.c.expires_at > now,
            )
            .order_by(orders.c.create_time)
            .limit(RECONCILE_BATCH)
        ).all()
    checked = settled = 0
    stopped = ""
    for order_id in due:
        if time.monotonic() - started > RECONCILE_BUDGET_SECONDS:
            stopped = "; out of time, the next run goes on"
            break
        checked += 1
        try:
            if settle_from_alipay(begin, order_id, alipay) is not None:
                settled += 1
        except AlipayUnavailable as exc:
            log.warning("reconciliation stopped at order %s: %s", order_id, exc)
            stopped = "; stopped: Alipay unavailable"
            break
    from chalicelib.services import refunds

    # Refunds whose answer was lost (said only when there were any).
    refunds_part = (
        ""
        if stopped
        else refunds.settle_pending(
            begin,
            alipay,
            now,
            budget_seconds=max(0.0, RECONCILE_BUDGET_SECONDS - (time.monotonic() - started)),
        )
    )
    return (
        f"{checked} of {len(due)} unpaid Alipay orders checked: {settled} settled as paid{stopped}"
        f"{refunds_part}"
    )


# --- staff: payments to refund -------------------------------------------------------------


# A payment as the admin's refund list shows it, with its order's buyer and status.
PAYMENT_LIST_COLUMNS = (
    payments.c.id,
    payments.c.order_id,
    payments.c.provider,
    payments.c.trade_no,
    payments.c.amount,
    payments.c.status,
    payments.c.create_time,
    orders.c.user_id,
    orders.c.status.label("order_status"),
)


def refunds_needed(conn: Connection, request: PageRequest) -> tuple[list[Any], int]:
    """Payments that arrived for orders we could not fill, newest first."""
    return page_of(conn, _refunds_needed_listing(), request)


@functools.cache
def _refunds_needed_listing() -> Listing:
    condition = payments.c.status == "refund_needed"
    return listing(
        select(*PAYMENT_LIST_COLUMNS)
        .join(orders, orders.c.order_id == payments.c.order_id)
        .where(condition)
        .order_by(payments.c.id.desc()),
        counted=select(func.count()).select_from(payments).where(condition),
    )
