"""The balance wallet: a ledger row for every change, the balance between 0 and 999999999.99.

Every change is one conditional UPDATE on users (`balance >= amount` to pay,
`balance + amount <= ceiling` to recharge), so concurrent changes can neither
overdraw nor overflow it (a CHECK constraint backs this up), followed in the same
transaction by a balance_records row carrying the balance after the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row

from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import balance_records, users
from chalicelib.errors import PermissionDenied, ValidationError
from chalicelib.money import MAX_FEN, format_yuan
from chalicelib.pagination import PageRequest
from chalicelib.services import accounts

if TYPE_CHECKING:
    from redis import Redis

KINDS = ("recharge", "payment", "refund")


def record(
    conn: Connection, user_id: int, amount: int, kind: str, *, order_id: str | None = None
) -> Row[Any]:
    """Write the ledger row of a balance change the caller has just made on users.

    The caller's UPDATE holds the user's row lock, so the balance read here is the
    balance right after that change.
    """
    balance_after = conn.scalar(select(users.c.balance).where(users.c.id == user_id))
    result = conn.execute(
        balance_records.insert().values(
            user_id=user_id,
            amount=amount,
            kind=kind,
            order_id=order_id,
            balance_after=balance_after,
            create_time=utcnow(),
        )
    )
    return conn.execute(
        select(balance_records).where(balance_records.c.id == insert_id(result))
    ).one()


def _check_staff_credentials(conn: Connection, redis: Redis, username: str, password: str) -> None:
    staff = accounts.check_credentials(
        conn, redis, username=username, password=password, staff_only=True
    )
    if staff is None:
        raise PermissionDenied(
            "A staff member's username and password are needed to recharge.",
            code="bad_staff_credentials",
        )


def recharge(
    conn: Connection,
    redis: Redis,
    *,
    user_id: int,
    amount: int,
    admin_username: str,
    admin_password: str,
) -> int:
    """Add money to the user's balance at a staff member's word; the new balance.

    Off unless RECHARGE_ENABLED: it is a counter-top feature, and the staff
    credentials are what stands in for the till.
    """
    if not settings().recharge_enabled:
        raise PermissionDenied("Recharging is switched off.", code="recharge_disabled")
    _check_staff_credentials(conn, redis, admin_username, admin_password)
    if amount <= 0:
        raise ValidationError("Must be more than 0.00.", field="amount")
    credited = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.balance <= MAX_FEN - amount)
        .values(balance=users.c.balance + amount)
    )
    if credited.rowcount != 1:
        raise ValidationError(f"The balance may not pass {format_yuan(MAX_FEN)}.", field="amount")
    return int(record(conn, user_id, amount, "recharge").balance_after)


def records(conn: Connection, user_id: int, request: PageRequest) -> tuple[list[Row[Any]], int]:
    """The user's ledger, newest first."""
    count = conn.scalar(
        select(func.count())
        .select_from(balance_records)
        .where(balance_records.c.user_id == user_id)
    )
    rows = conn.execute(
        select(balance_records)
        .where(balance_records.c.user_id == user_id)
        .order_by(balance_records.c.id.desc())
        .limit(request.limit)
        .offset(request.offset)
    ).all()
    return list(rows), int(count or 0)
