"""Explicit local times, and a statement counter.

Users and orders are inserted directly with tests/factories.py (not through sign-up or
checkout) so that their date_joined, last_login, create_time and paid_at are exactly the
instants a test needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, event

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """'2026-03-10 00:01' in Asia/Shanghai -> the aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


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
    return dict(auth_headers(make_user("staffboss", is_staff=True, is_superuser=True)))
