"""The engine's session settings, on whichever database this pass runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select, text

from chalicelib.db.engine import MYSQL_LOCK_WAIT_SECONDS, transaction
from chalicelib.db.tables import users
from tests import factories


def test_sessions_are_tuned_for_the_database(db: Any) -> None:
    with db.connect() as conn:
        if db.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            lock_wait = conn.execute(text("SELECT @@innodb_lock_wait_timeout")).scalar()
            assert conn.get_isolation_level() == "READ COMMITTED"
            assert lock_wait == MYSQL_LOCK_WAIT_SECONDS


def test_concurrent_writers_queue_instead_of_failing(db: Any) -> None:
    def sign_up(n: int) -> None:
        with transaction() as conn:
            count = conn.scalar(select(func.count()).select_from(users))  # read, then write
            factories.user(conn, username=f"writer_{n:03d}_{count}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(sign_up, range(40)))

    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(users)) == 40


def test_a_failed_unit_of_work_leaves_nothing_behind(db: Any) -> None:
    try:
        with transaction() as conn:
            factories.user(conn, username="half_done")
            raise RuntimeError("failure after the first write")
    except RuntimeError:
        pass

    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(users)) == 0
