"""Refunds: money goes back through Alipay or the wallet, exactly once.

- Every refund is a `refunds` row whose `refund_no` is ours and is Alipay's
  out_request_no. Alipay refunds one out_request_no once (asked again it answers
  fund_change N), so asking again with the same number is always safe: a retried
  request, a lost answer, the reconcile job.
- What may still be refunded is what was paid less the refunds that are pending or
  succeeded, computed under the order's row lock, in the unit that records the new
  refund. Two concurrent refunds of one order queue on that lock; the second sees
  the first. Partial refunds therefore add up to at most what was paid.
- An Alipay refund takes three steps (Alipay is never asked inside a unit of work: a
  slow gateway must not hold row locks): record it `pending` (one unit), ask Alipay,
  settle it (another unit). Alipay unreachable (the request certainly never reached
  it) removes the pending row again and answers 503: nothing changed. An answer that
  was lost (a timeout, a 5xx, an answer we cannot trust) leaves it `pending`; the
  reconcile job asks Alipay (alipay.trade.fastpay.refund.query) and, when Alipay has
  not refunded it, asks again with the same refund_no, as Alipay advises.
- A wallet refund is one unit: the refund row, the balance credited with a conditional
  update, and a `refund` ledger row.
- A refund that brings an unshipped paid order (2) to fully refunded cancels it (6) and
  returns its stock, in the unit that records the refund as succeeded. Refunds after
  shipping (returns) are recorded on the order and leave the stock alone. Each
  succeeded refund writes an order history row: who, how much, why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chalicelib.clock import utcnow
from chalicelib.db.engine import UnitOfWork, insert_id
from chalicelib.db.tables import order_status_history, orders, payments, refunds, users
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.money import MAX_FEN, format_yuan
from chalicelib.services.order_states import Status, move
from chalicelib.services.payments import PAYMENT_LIST_COLUMNS

if TYPE_CHECKING:
    from chalicelib.adapters.alipay import AlipayClient, RefundAnswer

log = logging.getLogger("shop.refunds")

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
ALIPAY, BALANCE = "alipay", "balance"
# Orders that were paid and not cancelled: the money can go back.
REFUNDABLE = frozenset({Status.PAID, Status.SHIPPED, Status.RECEIVED, Status.COMPLETED})
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Alipay: ask about a refund no sooner than 10 s after asking for it.
SETTLE_AFTER = timedelta(seconds=10)
SETTLE_BATCH = 100
LATE_PAYMENT_REASON = "payment arrived for an order that could not be filled"


# --- pure rules ---------------------------------------------------------------------------


def new_refund_no(now: datetime) -> str:
    """32 characters: "RF", UTC time to the microsecond (20), random (10).

    Letters and digits only and at most 64 characters, as Alipay's out_request_no
    requires; unique per refund (the column is unique too), never reused.
    """
    return f"RF{now.astimezone(UTC):%Y%m%d%H%M%S%f}{secrets.randbelow(10**10):010d}"


def amount_to_refund(paid: int, refunded: int, asked: int | None) -> int:
    """What a new refund takes: `asked` (fen), or by default all that is left.

    `refunded` counts the refunds pending or succeeded. 400 on `amount` when nothing is
    left, when asked for 0 or less, or for more than is left.
    """
    left = paid - refunded
    if left <= 0:
        raise ValidationError("Nothing is left to refund on this order.", field="amount")
    if asked is None:
        return left
    if asked <= 0:
        raise ValidationError("Must be more than 0.00.", field="amount")
    if asked > left:
        raise ValidationError(f"At most {format_yuan(left)} is left to refund.", field="amount")
    return asked


def request_fingerprint(order_id: str, amount: int | None, reason: str) -> str:
    """What an Idempotency-Key promises to repeat: the body (and order) of the first request."""
    canonical = json.dumps(
        {"order_id": order_id, "amount": amount, "reason": reason}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- where the money came from --------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    provider: str  # alipay | balance
    paid: int  # fen
    payment_id: int | None  # the Alipay payment refunded
    trade_no: str | None


def _source(conn: Connection, order: Row[Any]) -> Source:
    if order.pay_method == BALANCE:
        return Source(BALANCE, int(order.payment_amount), None, None)
    payment = conn.execute(
        select(payments.c.id, payments.c.amount, payments.c.trade_no)
        .where(payments.c.order_id == order.order_id, payments.c.status == "paid")
        .order_by(payments.c.id)
    ).first()
    if payment is None:
        raise Conflict("No Alipay payment is recorded for this order.", code="invalid_status")
    return Source(ALIPAY, int(payment.amount), int(payment.id), payment.trade_no)


def _total(conn: Connection, order_id: str, source: Source, statuses: tuple[str, ...]) -> int:
    """The refunds of this money (its payment, or the wallet) in these statuses, in fen."""
    of_source = (
        refunds.c.payment_id.is_(None)
        if source.payment_id is None
        else refunds.c.payment_id == source.payment_id
    )
    total = conn.scalar(
        select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
            refunds.c.order_id == order_id, of_source, refunds.c.status.in_(statuses)
        )
    )
    return int(total or 0)


def _committed(conn: Connection, order_id: str, source: Source) -> int:
    """The refunds of this money pending or succeeded, in fen."""
    return _total(conn, order_id, source, (PENDING, SUCCEEDED))


def refunding_all_of(conn: Connection, order_id: str) -> bool:
    """Do the order's pending and succeeded refunds cover all that was paid? (An unshipped
    order is then on its way to being cancelled: it must not ship.)"""
    order = conn.execute(select(orders).where(orders.c.order_id == order_id)).first()
    if order is None:
        return False
    try:
        source = _source(conn, order)
    except Conflict:  # no payment recorded: nothing refunded either
        return False
    return _committed(conn, order_id, source) >= source.paid


def _locked_order(conn: Connection, order_id: str, user_id: int | None = None) -> Row[Any]:
    query = select(orders).where(orders.c.order_id == order_id).with_for_update()
    if user_id is not None:
        query = query.where(orders.c.user_id == user_id)
    order = conn.execute(query).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def _row(conn: Connection, refund_id: int) -> Row[Any]:
    return conn.execute(select(refunds).where(refunds.c.id == refund_id)).one()


# --- refunding an order (staff, and the buyer's cancel of a paid order) ------------------


@dataclass(frozen=True)
class _Reserved:
    refund: Row[Any]
    trade_no: str | None
    done: bool  # nothing to ask Alipay: a wallet refund, or an Idempotency-Key replay


def refund_order(
    begin: UnitOfWork,
    alipay: AlipayClient,
    order_id: str,
    *,
    actor: str,
    amount: int | None = None,
    reason: str = "",
    idempotency_key: str | None = None,
) -> Row[Any]:
    """Refund `amount` fen (default: what is left) of a paid order to where it came from.

    The refunds row as it is now: succeeded, failed (Alipay refused), or pending (the
    answer was lost; the reconcile job settles it). 404 unknown order; 409
    invalid_status when it is unpaid or cancelled; 400 amount; 409 idempotency_conflict;
    AlipayUnavailable (503) when Alipay cannot be reached, with nothing recorded.
    """
    fingerprint = request_fingerprint(order_id, amount, reason) if idempotency_key else None
    with begin() as conn:
        order = _locked_order(conn, order_id)
        if idempotency_key:
            earlier = _replay(conn, actor, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        if order.status not in REFUNDABLE:
            raise Conflict("Only paid orders can be refunded.", code="invalid_status")
        reserved = _reserve(
            conn,
            order,
            actor=actor,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
    if reserved.done:
        return reserved.refund
    return _ask_alipay(begin, alipay, reserved.refund, reserved.trade_no, forget_if_unsent=True)


def cancel_paid_order(
    begin: UnitOfWork, alipay: AlipayClient, order_id: str, *, user_id: int
) -> None:
    """The buyer cancels their paid, unshipped order: all of it is refunded, and the
    order is cancelled with its stock returned once the refund has succeeded.

    409 invalid_status once shipped; 409 refund_failed when Alipay refuses (the failed
    refund is recorded, the order stays paid); AlipayUnavailable (503): nothing changed.
    With a refund of all of it already under way, nothing more is asked.
    """
    with begin() as conn:
        order = _locked_order(conn, order_id, user_id=user_id)
        if order.status != Status.PAID:
            raise Conflict(
                "Only unpaid orders, or paid ones not yet shipped, can be cancelled.",
                code="invalid_status",
            )
        source = _source(conn, order)
        if _committed(conn, order_id, source) >= source.paid:
            return  # a refund of all of it is pending: the cancel is under way
        reserved = _reserve(
            conn, order, actor=f"user:{user_id}", amount=None, reason="cancelled by the buyer"
        )
    refund = reserved.refund
    if not reserved.done:
        refund = _ask_alipay(begin, alipay, refund, reserved.trade_no, forget_if_unsent=True)
    if refund.status == FAILED:
        raise Conflict(
            f"Alipay refused the refund ({refund.failure}); the order stays paid.",
            code="refund_failed",
        )


def _reserve(
    conn: Connection,
    order: Row[Any],
    *,
    actor: str,
    amount: int | None,
    reason: str,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> _Reserved:
    """Record a new refund of the (locked) order: pending for Alipay; for the wallet,
    succeeded with the balance credited, all in the caller's unit."""
    source = _source(conn, order)
    take = amount_to_refund(source.paid, _committed(conn, order.order_id, source), amount)
    try:
        with conn.begin_nested():
            refund_id = _insert_pending(
                conn,
                order_id=order.order_id,
                payment_id=source.payment_id,
                provider=source.provider,
                amount=take,
                reason=reason,
                actor=actor,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
    except IntegrityError:
        # The same key used meanwhile for another order by this actor (this order's
        # requests queue on its row lock): the earlier refund is the answer, or a 409.
        earlier = _replay(conn, actor, idempotency_key, fingerprint) if idempotency_key else None
        if earlier is None:
            raise
        return _Reserved(earlier, None, done=True)
    if source.provider == BALANCE:
        _credit_wallet(conn, order, take)
        _succeeded(conn, refund_id, detail="")
        return _Reserved(_row(conn, refund_id), None, done=True)
    return _Reserved(_row(conn, refund_id), source.trade_no, done=False)


def _insert_pending(conn: Connection, *, reason: str, actor: str, **columns: Any) -> int:
    """A new pending refunds row under a fresh refund_no; its id."""
    now = utcnow()
    fresh = {"refund_no": new_refund_no(now), "status": PENDING, "create_time": now}
    row = {**columns, **fresh, "update_time": now, "reason": reason[:200], "actor": actor[:64]}
    return insert_id(conn.execute(refunds.insert().values(**row)))


def _credit_wallet(conn: Connection, order: Row[Any], amount: int) -> None:
    from chalicelib.services import wallet

    credited = conn.execute(
        update(users)
        .where(users.c.id == order.user_id, users.c.balance <= MAX_FEN - amount)
        .values(balance=users.c.balance + amount)
    )
    if credited.rowcount != 1:
        raise Conflict(
            f"The buyer's balance may not pass {format_yuan(MAX_FEN)}.", code="balance_ceiling"
        )
    wallet.record(conn, order.user_id, amount, "refund", order_id=order.order_id)


def _replay(conn: Connection, actor: str, key: str, fingerprint: str | None) -> Row[Any] | None:
    """The refund this actor's Idempotency-Key made within 24 h, or None; an older key is
    released so it can start over. 409 idempotency_conflict for a different request."""
    row = conn.execute(
        select(refunds).where(refunds.c.actor == actor[:64], refunds.c.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.create_time < utcnow() - IDEMPOTENCY_WINDOW:
        conn.execute(update(refunds).where(refunds.c.id == row.id).values(idempotency_key=None))
        return None
    if row.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            code="idempotency_conflict",
        )
    return row


# --- asking Alipay and settling -------------------------------------------------------------


def _ask_alipay(
    begin: UnitOfWork,
    alipay: AlipayClient,
    refund: Row[Any],
    trade_no: str | None,
    *,
    forget_if_unsent: bool,
) -> Row[Any]:
    """Ask Alipay for a pending refund (outside any unit), then settle it by the answer.

    AlipayUnavailable means the request never reached Alipay: with forget_if_unsent the
    pending row goes again (nothing changed) before it is raised.
    """
    from chalicelib.adapters.alipay import AlipayUnavailable

    try:
        answer = _send(alipay, refund, trade_no)
    except AlipayUnavailable:
        if forget_if_unsent:
            with begin() as conn:
                conn.execute(
                    delete(refunds).where(refunds.c.id == refund.id, refunds.c.status == PENDING)
                )
        raise
    with begin() as conn:
        _settle(conn, refund, answer)
        return _row(conn, refund.id)


def _send(alipay: AlipayClient, refund: Row[Any], trade_no: str | None) -> RefundAnswer:
    """Ask Alipay for the refund (again, when its answer was lost: the same refund_no
    never refunds twice)."""
    return alipay.refund(
        out_trade_no=refund.order_id,
        trade_no=trade_no or "",
        out_request_no=refund.refund_no,
        refund_amount=format_yuan(refund.amount),
        refund_reason=refund.reason or "退款",
    )


def _settle(conn: Connection, refund: Row[Any], answer: RefundAnswer) -> bool:
    """Record Alipay's answer on a pending refund; False when there was nothing to do
    (still unknown, or settled meanwhile by another run)."""
    from chalicelib.adapters.alipay import RefundState

    if answer.state is RefundState.UNKNOWN:
        return False
    _locked_order(conn, refund.order_id)  # orders before refunds, as everywhere
    if answer.state is RefundState.SUCCEEDED:
        return _succeeded(conn, refund.id, detail=answer.detail)
    moved = conn.execute(
        update(refunds)
        .where(refunds.c.id == refund.id, refunds.c.status == PENDING)
        .values(status=FAILED, failure=answer.detail[:200], update_time=utcnow())
    )
    return moved.rowcount == 1


def _succeeded(conn: Connection, refund_id: int, *, detail: str) -> bool:
    """pending -> succeeded, with what follows in the same unit: the history row, the
    late payment marked refunded, and an unshipped order refunded in full cancelled
    with its stock returned. The caller holds the order's row lock."""
    moved = conn.execute(
        update(refunds)
        .where(refunds.c.id == refund_id, refunds.c.status == PENDING)
        .values(status=SUCCEEDED, update_time=utcnow())
    )
    if moved.rowcount != 1:
        return False
    refund = _row(conn, refund_id)
    order = conn.execute(select(orders).where(orders.c.order_id == refund.order_id)).one()
    _history(conn, order, refund)
    late = conn.execute(
        update(payments)
        .where(payments.c.id == refund.payment_id, payments.c.status == "refund_needed")
        .values(status="refunded")
    )
    if late.rowcount == 1:
        _clear_needs_refund(conn, order.order_id)
    elif order.status == Status.PAID:
        source = _source(conn, order)
        if _refunded(conn, order.order_id, source) >= source.paid:
            _cancel_refunded(conn, order.order_id, refund)
    log.info(
        "order %s: refund %s of %s succeeded %s",
        order.order_id,
        refund.refund_no,
        format_yuan(refund.amount),
        detail,
    )
    return True


def _refunded(conn: Connection, order_id: str, source: Source) -> int:
    return _total(conn, order_id, source, (SUCCEEDED,))


def _history(conn: Connection, order: Row[Any], refund: Row[Any]) -> None:
    why = f": {refund.reason}" if refund.reason else ""
    conn.execute(
        order_status_history.insert().values(
            order_id=order.order_id,
            from_status=order.status,
            to_status=order.status,
            actor=refund.actor,
            reason=(
                f"refund {refund.refund_no} of {format_yuan(refund.amount)} "
                f"({refund.provider}){why}"
            )[:200],
            create_time=utcnow(),
        )
    )


def _cancel_refunded(conn: Connection, order_id: str, refund: Row[Any]) -> None:
    from chalicelib.services import orders as order_service

    if move(
        conn,
        order_id,
        from_status=Status.PAID,
        to_status=Status.CANCELLED,
        actor=refund.actor,
        reason=f"refunded in full ({refund.refund_no}) before shipping; stock returned",
    ):
        order_service.return_stock(conn, order_id)


def _clear_needs_refund(conn: Connection, order_id: str) -> None:
    left = conn.scalar(
        select(func.count())
        .select_from(payments)
        .where(payments.c.order_id == order_id, payments.c.status == "refund_needed")
    )
    if not left:
        conn.execute(update(orders).where(orders.c.order_id == order_id).values(needs_refund=False))


# --- late payments (refund_needed) ----------------------------------------------------------


def refund_late_payment(
    begin: UnitOfWork, alipay: AlipayClient, payment_id: int, *, actor: str
) -> Row[Any]:
    """Give back a `refund_needed` payment at Alipay; the payment is `refunded` once
    Alipay confirms. A pending refund of it (a lost answer) is asked again with its own
    refund_no, so calling this again never refunds twice. 404 unknown payment; 409
    invalid_status when it does not need a refund; AlipayUnavailable (503).

    Returns the refunds row as it is now (pending, succeeded or failed).
    """
    with begin() as conn:
        order_id = conn.scalar(select(payments.c.order_id).where(payments.c.id == payment_id))
        if order_id is None:
            raise NotFound("No such payment.")
        _locked_order(conn, order_id)
        payment = conn.execute(
            select(payments).where(payments.c.id == payment_id).with_for_update()
        ).one()
        if payment.status != "refund_needed":
            raise Conflict(
                "Only a payment that needs a refund can be refunded.", code="invalid_status"
            )
        refund = conn.execute(
            select(refunds).where(refunds.c.payment_id == payment_id, refunds.c.status == PENDING)
        ).first()
        created = refund is None
        if refund is None:
            refund_id = _insert_pending(
                conn,
                order_id=order_id,
                payment_id=payment_id,
                provider=ALIPAY,
                amount=payment.amount,
                reason=LATE_PAYMENT_REASON,
                actor=actor,
            )
            refund = _row(conn, refund_id)
    return _ask_alipay(begin, alipay, refund, payment.trade_no, forget_if_unsent=created)


def payment_row(conn: Connection, payment_id: int) -> Any:
    """A payment as the admin's refund list shows it."""
    row = conn.execute(
        select(*PAYMENT_LIST_COLUMNS)
        .join(orders, orders.c.order_id == payments.c.order_id)
        .where(payments.c.id == payment_id)
    ).first()
    if row is None:
        raise NotFound("No such payment.")
    return row


# --- the reconcile job's part -------------------------------------------------------------


def settle_pending(
    begin: UnitOfWork, alipay: AlipayClient, now: datetime, *, budget_seconds: float
) -> str:
    """Settle Alipay refunds whose answer was lost: ask Alipay (refund query); when it
    has not refunded, ask for the refund again with the same refund_no (never twice).
    Pending for at least SETTLE_AFTER; each refund its own short unit. The summary is
    empty when nothing was pending.
    """
    from chalicelib.adapters.alipay import AlipayUnavailable, RefundState

    started = time.monotonic()
    with begin() as conn:
        due = conn.execute(
            select(refunds, payments.c.trade_no)
            .join(payments, payments.c.id == refunds.c.payment_id)
            .where(
                refunds.c.status == PENDING,
                refunds.c.provider == ALIPAY,
                refunds.c.update_time <= now - SETTLE_AFTER,
            )
            .order_by(refunds.c.id)
            .limit(SETTLE_BATCH)
        ).all()
    if not due:
        return ""
    settled = checked = 0
    stopped = ""
    for refund in due:
        if time.monotonic() - started > budget_seconds:
            stopped = ", out of time"
            break
        checked += 1
        try:
            answer = alipay.query_refund(
                out_trade_no=refund.order_id, out_request_no=refund.refund_no
            )
            if answer.state is RefundState.UNKNOWN:
                answer = _send(alipay, refund, refund.trade_no)
        except AlipayUnavailable as exc:
            log.warning("refund settling stopped at %s: %s", refund.refund_no, exc)
            stopped = ", stopped: Alipay unavailable"
            break
        with begin() as conn:
            if _settle(conn, refund, answer):
                settled += 1
    return f"; {checked} of {len(due)} pending refunds checked: {settled} settled{stopped}"
