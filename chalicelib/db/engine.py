"""Engine factory and the unit of work, `with transaction() as conn:`.

Lambda runs one request at a time per container, so on AWS the pool holds one
connection (RDS Proxy multiplexes them); `chalice local` is threaded and gets a
small pool. Connections are pre-pinged (RDS Proxy and MySQL drop idle ones) and
recycled before MySQL's wait_timeout.

MySQL sessions use READ COMMITTED (no gap locks on the conditional stock updates)
and a short lock wait: API Gateway gives up after 29 s, so a request stuck behind a
lock should fail in seconds, not minutes.

SQLite (the local twin) runs in WAL mode with a busy timeout, and write
transactions begin IMMEDIATE: chalice local's threads then queue for the write lock
instead of failing with "database is locked" on a lock upgrade.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, create_engine, event

from chalicelib import config

log = logging.getLogger("shop.db")

MYSQL_LOCK_WAIT_SECONDS = 5
SQLITE_BUSY_TIMEOUT_MS = 10_000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine() -> Engine:
    """The engine for the current DATABASE_URL, built once per process."""
    url = config.settings().database_url
    found = _engines.get(url)
    if found is not None:
        return found
    with _engines_lock:
        if url not in _engines:
            _engines[url] = build_engine(url)
        return _engines[url]


def build_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("mysql"):
        return _mysql_engine(url)
    raise config.ConfigError(f"DATABASE_URL must be sqlite:/// or mysql+pymysql://, got {url!r}")


def _mysql_engine(url: str) -> Engine:
    on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    # Behind RDS Proxy a SET SESSION (or a session isolation level) pins each client to
    # one database connection for good, and the proxy then shares nothing: there the
    # same settings come from the parameter group and the proxy's init query (infra/).
    session_settings_on_server = config.database_behind_proxy()
    connect_args: dict[str, Any] = {
        "charset": "utf8mb4",
        "connect_timeout": 5,
        "read_timeout": 25,
        "write_timeout": 25,
    }
    if not session_settings_on_server:
        connect_args["init_command"] = (
            f"SET SESSION innodb_lock_wait_timeout={MYSQL_LOCK_WAIT_SECONDS}"
        )
    return create_engine(
        url,
        # Errors and logs show statements without their values (password hashes, tokens).
        hide_parameters=True,
        pool_size=1 if on_lambda else 5,
        max_overflow=0 if on_lambda else 10,
        pool_pre_ping=True,
        pool_recycle=280,
        pool_timeout=10,
        **({} if session_settings_on_server else {"isolation_level": "READ COMMITTED"}),
        connect_args=connect_args,
    )


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    eng = create_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=5,
        max_overflow=10,
    )

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE can be issued below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return eng


# The unit-of-work factory: entry points pass `transaction` itself to services whose rule
# spans several units (ask Alipay between two, one order per unit in a batch job).
UnitOfWork = Callable[[], AbstractContextManager[Connection]]
# Work that follows a unit of work: called with a fresh UnitOfWork factory in case it needs
# the database again (a file deletion that fails is queued for the retry job).
Hook = Callable[[UnitOfWork], object]
# The hooks of each open unit, by its Connection. Not in conn.info: that belongs to the
# pooled DBAPI connection, and a connection invalidated mid-unit (the server reset it)
# comes back with a fresh, empty info.
_open_units: dict[int, dict[str, list[Hook]]] = {}


@contextmanager
def transaction() -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back on any exception.

    Hooks registered with after_commit() run once the commit went through, those of
    after_rollback() once it did not; both after the connection is back in the pool (on
    Lambda it holds one), and a failing hook is logged, never raised: it must not turn a
    committed write into an error, nor hide the error that rolled the unit back.
    """
    hooks: dict[str, list[Hook]] = {"commit": [], "rollback": []}
    try:
        with engine().connect() as conn:
            _open_units[id(conn)] = hooks
            try:
                with conn.begin():
                    yield conn
            finally:
                del _open_units[id(conn)]
    except BaseException:
        _run(hooks["rollback"])
        raise
    _run(hooks["commit"])


def after_commit(conn: Connection, hook: Hook) -> None:
    """Run hook(transaction) once this connection's unit of work has committed."""
    _open_units[id(conn)]["commit"].append(hook)


def after_rollback(conn: Connection, hook: Hook) -> None:
    """Run hook(transaction) if this connection's unit of work does not commit."""
    _open_units[id(conn)]["rollback"].append(hook)


def _run(hooks: list[Hook]) -> None:
    for hook in hooks:
        try:
            hook(transaction)
        except Exception:
            log.exception("work after a unit of work failed: %r", hook)


def insert_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def dispose_all() -> None:
    """Close pooled connections (tests, and forked worker processes)."""
    with _engines_lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
