"""The order state machine, in one place: meiduo's status numbers and the legal moves.

Every move is one conditional UPDATE (`... WHERE status = <from>`), so replays and
races are harmless: of two concurrent moves from the same status exactly one
changes the row; the other sees a row count of 0 and gets False. Each move that
happens writes a status history row (from, to, actor, reason, time) in the same
transaction.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import Connection, update

from chalicelib.clock import utcnow
from chalicelib.db.tables import order_status_history, orders


class Status(IntEnum):
    UNPAID = 1
    PAID = 2  # awaiting shipment
    SHIPPED = 3
    RECEIVED = 4  # awaiting comment
    COMPLETED = 5
    CANCELLED = 6


STATUS_NAMES = {
    Status.UNPAID: "待支付",
    Status.PAID: "待发货",
    Status.SHIPPED: "待收货",
    Status.RECEIVED: "待评价",
    Status.COMPLETED: "已完成",
    Status.CANCELLED: "已取消",
}

LEGAL_MOVES: dict[Status, frozenset[Status]] = {
    Status.UNPAID: frozenset({Status.PAID, Status.CANCELLED}),
    # A full refund before shipping cancels the order and returns its stock (the buyer's
    # cancel of a paid order, or staff refunding all of it: services.refunds). Refunds
    # after shipping (returns) are recorded on the order and move nothing.
    Status.PAID: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.RECEIVED}),
    Status.RECEIVED: frozenset({Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
    # A payment that arrives after expiry/cancellation still settles the order when the
    # stock can be taken again (see services.payments).
    Status.CANCELLED: frozenset({Status.PAID}),
}


class IllegalMove(ValueError):
    pass


def status_name(status: int) -> str:
    return STATUS_NAMES[Status(status)]


def is_legal(from_status: int, to_status: int) -> bool:
    return Status(to_status) in LEGAL_MOVES[Status(from_status)]


def move(
    conn: Connection,
    order_id: str,
    *,
    from_status: Status,
    to_status: Status,
    actor: str,
    reason: str = "",
    **extra_values: object,
) -> bool:
    """Move the order from `from_status` to `to_status` if it is still there.

    Returns False (and changes nothing) when the order is not in `from_status`, e.g.
    because a concurrent request moved it first. IllegalMove for a move the machine
    does not allow at all. `extra_values` are set on the order row in the same
    statement (e.g. paid_at).
    """
    if not is_legal(from_status, to_status):
        raise IllegalMove(f"{from_status.name} -> {to_status.name}")
    now = utcnow()
    result = conn.execute(
        update(orders)
        .where(orders.c.order_id == order_id, orders.c.status == int(from_status))
        .values(status=int(to_status), update_time=now, **extra_values)
    )
    if result.rowcount != 1:
        return False
    conn.execute(
        order_status_history.insert().values(
            order_id=order_id,
            from_status=int(from_status),
            to_status=int(to_status),
            actor=actor[:64],
            reason=reason[:200],
            create_time=now,
        )
    )
    return True
