"""transaction(): the unit of work and the work that follows it (after-commit/rollback hooks)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.db.engine import after_commit, after_rollback, transaction
from chalicelib.db.tables import pending_file_deletions
from chalicelib.errors import NotFound


def _queue(conn: Any, file_id: str) -> None:
    conn.execute(pending_file_deletions.insert().values(file_id=file_id, create_time=func.now()))


def _queued(db: Any) -> list[str]:
    with db.connect() as conn:
        return list(conn.scalars(select(pending_file_deletions.c.file_id)))


def test_after_commit_hooks_run_in_order_once_the_write_is_visible(db: Any) -> None:
    seen: list[tuple[str, list[str]]] = []

    with transaction() as conn:
        _queue(conn, "group1/a")
        after_commit(conn, lambda begin: seen.append(("first", _queued(db))))
        after_rollback(conn, lambda begin: seen.append(("rollback", [])))
        after_commit(conn, lambda begin: seen.append(("second", _queued(db))))

    assert seen == [("first", ["group1/a"]), ("second", ["group1/a"])]


def test_after_rollback_hooks_run_and_the_error_still_reaches_the_caller(db: Any) -> None:
    seen: list[str] = []

    with pytest.raises(NotFound), transaction() as conn:
        _queue(conn, "group1/b")
        after_commit(conn, lambda begin: seen.append("commit"))
        after_rollback(conn, lambda begin: seen.append("rollback"))
        raise NotFound("No such thing.")

    assert seen == ["rollback"]
    assert _queued(db) == []


def test_a_failing_hook_is_logged_and_never_turns_the_commit_into_an_error(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(begin: Any) -> None:
        raise ConnectionError("redis is down")

    with caplog.at_level(logging.ERROR, logger="shop.db"), transaction() as conn:
        _queue(conn, "group1/c")
        after_commit(conn, broken)
        after_commit(conn, lambda begin: seen.append("after the broken one"))

    assert _queued(db) == ["group1/c"]
    assert seen == ["after the broken one"]
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ConnectionError]


def test_a_hook_gets_a_unit_of_work_factory_for_follow_up_writes(db: Any) -> None:
    with transaction() as conn:
        _queue(conn, "group1/d")

        def follow_up(begin: Any) -> None:
            with begin() as again:
                _queue(again, "group1/e")

        after_commit(conn, follow_up)

    assert sorted(_queued(db)) == ["group1/d", "group1/e"]


def test_a_connection_lost_inside_the_unit_still_rolls_back_cleanly(db: Any) -> None:
    """A connection the server reset mid-unit is invalidated, and comes back with a fresh
    conn.info: the hooks must not live there (a KeyError turned a 503 into a 500)."""
    seen: list[str] = []

    with pytest.raises(ConnectionError), transaction() as conn:
        after_rollback(conn, lambda begin: seen.append("rollback"))
        conn.invalidate()
        after_commit(conn, lambda begin: seen.append("commit"))
        raise ConnectionError("the server reset the connection")

    assert seen == ["rollback"]
