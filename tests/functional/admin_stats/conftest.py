"""Rows with explicit UTC times, a frozen "now", and a statement counter.

Users and orders are inserted directly (not through sign-up/checkout) so that their
date_joined, last_login, create_time and paid_at are exactly the instants a test needs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, event

from chalicelib.db.engine import insert_id
from chalicelib.db.tables import categories, orders, users

SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def local(text: str) -> datetime:
    """'2026-03-10 00:01' in Asia/Shanghai -> the aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def add_user(
    conn: Connection,
    *,
    joined: datetime,
    last_login: datetime | None = None,
    username: str | None = None,
) -> int:
    return insert_id(
        conn.execute(
            users.insert().values(
                username=username or f"u{next(_numbers):07d}",
                password="argon2$not-a-real-hash",
                date_joined=joined,
                last_login=last_login,
            )
        )
    )


def add_order(
    conn: Connection,
    *,
    user_id: int,
    created: datetime,
    paid_at: datetime | None = None,
    payment_amount: int = 10_000,
) -> str:
    order_id = f"{created:%Y%m%d%H%M%S}{next(_numbers):09d}"
    conn.execute(
        orders.insert().values(
            order_id=order_id,
            user_id=user_id,
            receiver="张三",
            province="广东省",
            city="深圳市",
            district="南山区",
            place="科技园路 1 号",
            mobile="13812345678",
            total_count=1,
            total_amount=payment_amount,
            freight=0,
            payment_amount=payment_amount,
            pay_method="alipay",
            status=2 if paid_at else 1,
            create_time=created,
            update_time=paid_at or created,
            expires_at=created,
            paid_at=paid_at,
        )
    )
    return order_id


def add_category(conn: Connection, name: str) -> int:
    return insert_id(conn.execute(categories.insert().values(name=name)))


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def queries(self) -> int:
        """Statements sent to the database, not counting transaction control."""
        return sum(1 for s in self.statements if not s.lstrip().upper().startswith("BEGIN"))


@contextmanager
def counting(conn: Connection) -> Iterator[StatementCounter]:
    counter = StatementCounter()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.statements.append(statement)

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield counter
    finally:
        event.remove(conn, "before_cursor_execute", record)


@pytest.fixture
def staff_headers(make_user: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(make_user("staffboss", is_staff=True)))
