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


def test_behind_rds_proxy_the_app_sends_no_session_settings(db: Any, monkeypatch: Any) -> None:
    """RDS Proxy pins a connection for good on SET SESSION or a session isolation level;
    there the server side sets both, so the app's engine must leave the session alone."""
    import pytest

    from chalicelib.db.engine import build_engine

    if db.dialect.name == "sqlite":
        pytest.skip("a MySQL session setting")
    monkeypatch.setenv("DATABASE_BEHIND_PROXY", "true")
    proxied = build_engine(db.url.render_as_string(hide_password=False))
    try:
        with proxied.connect() as conn:
            isolation = conn.get_isolation_level()
            lock_waits = conn.execute(
                text("SELECT @@session.innodb_lock_wait_timeout, @@global.innodb_lock_wait_timeout")
            ).one()
    finally:
        proxied.dispose()

    assert proxied.dialect.create_connect_args(proxied.url)[1].get("init_command") is None
    assert isolation == "REPEATABLE READ"  # the test server's own default, untouched
    assert lock_waits[0] == lock_waits[1] == 50  # likewise
