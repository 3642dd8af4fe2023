"""Engine factory and the unit of work, `with transaction() as conn:`.

Lambda runs one request at a time per container, so on AWS the pool holds one
connection (RDS Proxy multiplexes them); `chalice local` is threaded and gets a
small pool. A connection idle for a while is pinged on checkout (RDS Proxy and MySQL
drop idle ones), and connections are recycled before MySQL's wait_timeout.

MySQL sessions use READ COMMITTED (no gap locks on the conditional stock updates)
and a short lock wait: API Gateway gives up after 29 s, so a request stuck behind a
lock should fail in seconds, not minutes.

A MySQL server that accepts connections and never answers (a partition, a stalled
proxy) must cost a request seconds, not the 25 s a slow statement may take: the
handshake and the ping after idle are bounded by DATABASE_CONNECT_TIMEOUT, each SELECT by
the server's own statement limit (DATABASE_STATEMENT_TIMEOUT; jobs and migrations
set theirs explicitly with `statement_timeout()`), with the socket's read timeout a
little above it, and the pool sits behind the database's circuit breaker
(chalicelib/breaker.py). docs/ARCHITECTURE.md, "When a backing service stalls".

SQLite (the local twin) runs in WAL mode with a busy timeout, and write
transactions begin IMMEDIATE: chalice local's threads then queue for the write lock
instead of failing with "database is locked" on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Insert,
    QueuePool,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from chalicelib import breaker, config, lazy

log = logging.getLogger("shop.db")

MYSQL_LOCK_WAIT_SECONDS = 5
# The socket waits this much longer than the server's own limit, so the server's error
# (which leaves the connection usable) normally comes first.
STATEMENT_READ_SLACK_SECONDS = 2.0
# Client errors that mean the server could not be reached or stopped answering:
# can't connect (2002, 2003), unknown host (2005), gone away (2006), lost during a
# query or a timeout (2013), lost during the handshake (2055).
CONNECTION_ERRNOS = frozenset({2002, 2003, 2005, 2006, 2013, 2055})
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
    connect_timeout = config.limits().database_connect_timeout
    connect_args: dict[str, Any] = {
        "charset": "utf8mb4",
        # Reads run outside a transaction and a unit begins at its first write (see
        # _begin_at_the_first_write): a read-only request sends no BEGIN, COMMIT or
        # ROLLBACK. The server's default, so nothing is sent for it at connect.
        "autocommit": True,
        # The TCP connect, and (as the socket's timeout until the connection is checked
        # out) the handshake: a server that accepts and never answers costs this much.
        "connect_timeout": connect_timeout,
        "read_timeout": connect_timeout,
        "write_timeout": connect_timeout,
    }
    if not session_settings_on_server:
        connect_args["init_command"] = (
            f"SET SESSION innodb_lock_wait_timeout={MYSQL_LOCK_WAIT_SECONDS}"
        )
    # pymysql is imported here (the dialect's DBAPI). It imports cryptography when found,
    # for one purpose: encrypting the password with the server's RSA key when
    # caching_sha2_password or sha256_password authenticate without TLS. A URL that
    # requires TLS (ssl_ca, as on AWS) never takes that path, and the import costs a cold
    # start's first request ~10 ms: there cryptography is left out (chalicelib/lazy.py).
    extras = lazy.without("cryptography") if tls_required(url) else contextlib.nullcontext()
    with extras:
        eng = _create_mysql_engine(url, on_lambda, session_settings_on_server, connect_args)
    pool = eng.pool
    assert isinstance(pool, _GuardedQueuePool)
    pool.service_target = f"{eng.url.host}:{eng.url.port or 3306}/{eng.url.database or ''}"
    # First: its listener must see each statement before _bound_statements rewrites it.
    _begin_at_the_first_write(eng, session_isolation=not session_settings_on_server)
    _bound_statements(eng, connect_timeout)
    return eng


_TLS_REQUIRING = ("ssl_ca", "ssl_capath", "ssl_cert", "ssl_key")


def tls_required(url: str) -> bool:
    """Does this mysql URL make pymysql require TLS (a CA or a client certificate)?"""
    query = make_url(url).query
    return any(query.get(name) for name in _TLS_REQUIRING) and not _truthy(
        query.get("ssl_disabled")
    )


def _truthy(value: str | tuple[str, ...] | None) -> bool:
    value = value[-1] if isinstance(value, tuple) else value
    return bool(value) and str(value).lower() not in ("0", "false", "no", "off")


def _create_mysql_engine(
    url: str, on_lambda: bool, session_settings_on_server: bool, connect_args: dict[str, Any]
) -> Engine:
    return create_engine(
        url,
        # Errors and logs show statements without their values (password hashes, tokens).
        hide_parameters=True,
        poolclass=_GuardedQueuePool,
        pool_size=1 if on_lambda else 5,
        max_overflow=0 if on_lambda else 10,
        # No ping on every checkout: _bound_statements pings a connection idle for
        # DATABASE_PING_AFTER_IDLE_SECONDS or more (one a request would have cost 2).
        pool_recycle=280,
        pool_timeout=10,
        **({} if session_settings_on_server else {"isolation_level": "READ COMMITTED"}),
        connect_args=connect_args,
    )


# --- transactions begun at the first write ----------------------------------------------

SERVER_STATUS_IN_TRANS = 1
_READS = ("SELECT", "SHOW", "EXPLAIN", "DESCRIBE")
_LOCKING_READS = ("FOR UPDATE", "LOCK IN SHARE MODE", "FOR SHARE")


def is_plain_read(statement: str) -> bool:
    """A statement that neither writes nor locks: it needs no transaction around it."""
    head = statement.lstrip()[:8].upper()
    if not head.startswith(_READS):
        return False
    tail = statement[-48:].upper()
    return not any(lock in tail for lock in _LOCKING_READS)


def _in_server_transaction(dbapi_connection: Any) -> bool:
    """Whether the server has a transaction open on this connection, by the status of its
    last OK packet (pymysql keeps it; a result set leaves it as it was, which is right in
    autocommit mode: a plain read neither begins nor ends a transaction)."""
    status = getattr(dbapi_connection, "server_status", None)
    return status is None or bool(status & SERVER_STATUS_IN_TRANS)


def _begin_at_the_first_write(eng: Engine, *, session_isolation: bool) -> None:
    """MySQL connections run in autocommit mode, and a unit of work sends BEGIN just before
    its first statement that writes or locks (SAVEPOINT, INSERT, UPDATE, DELETE, SELECT ...
    FOR UPDATE); COMMIT and ROLLBACK are sent only when the server has a transaction open.

    Reads before the first write run on their own, which at READ COMMITTED is what they
    saw inside the transaction anyway (each statement reads the latest committed rows);
    reads after it run inside it and see its writes. A read-only request thus sends its
    SELECTs and nothing else, where it sent a ROLLBACK or COMMIT per unit; a writing unit
    sends one BEGIN more. SQLAlchemy's own bookkeeping (begin, commit, the pool's reset on
    return) is unchanged."""
    dialect = eng.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        if _in_server_transaction(dbapi_connection):
            commit(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        if _in_server_transaction(dbapi_connection):
            rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    if session_isolation:
        # SQLAlchemy sets the session's isolation level on connect and turns autocommit
        # off as it does; this listener runs after it.
        @event.listens_for(eng, "connect")
        def _autocommit(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.autocommit(True)

    @event.listens_for(eng, "before_cursor_execute")
    def _begin(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        raw = cursor.connection
        writes = not is_plain_read(statement)
        if writes and not _in_server_transaction(raw) and conn.in_transaction():
            raw.begin()


# --- bounded statements ----------------------------------------------------------------

_UNSET = -1.0
_RETURNED_AT = "shop_returned_at"
_statement_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "statement_timeout", default=_UNSET
)


@contextmanager
def statement_timeout(seconds: float | None) -> Iterator[None]:
    """Within this block (this thread), each SELECT may run `seconds` on the server
    (None: no limit), instead of DATABASE_STATEMENT_TIMEOUT. Jobs and migrations say so."""
    token = _statement_timeout.set(seconds)
    try:
        yield
    finally:
        _statement_timeout.reset(token)


def current_statement_timeout() -> float | None:
    found = _statement_timeout.get()
    if found is None or found != _UNSET:
        return found
    return config.limits().database_statement_timeout


def limited_statement(statement: str, seconds: float | None, *, mariadb: bool) -> str:
    """A SELECT with the server's time limit on it; anything else as it is.

    Per statement rather than per session: a SET SESSION pins the connection behind RDS
    Proxy. MariaDB: `SET STATEMENT max_statement_time=<s> FOR ...`; MySQL 8: the optimizer
    hint MAX_EXECUTION_TIME(<ms>), which it honours on SELECT only. Writes are bounded by
    the lock wait (innodb_lock_wait_timeout) instead: they touch a few rows by key.
    """
    if seconds is None or not statement.startswith("SELECT"):
        return statement
    if mariadb:
        return f"SET STATEMENT max_statement_time={seconds:g} FOR {statement}"
    return f"SELECT /*+ MAX_EXECUTION_TIME({max(int(seconds * 1000), 1)}) */{statement[6:]}"


def _socket_timeout(seconds: float | None) -> float | None:
    """The client's read timeout while a connection is checked out: above the statement
    limit and the lock wait, so the server's own error comes first."""
    if seconds is None:
        return None
    return max(seconds, MYSQL_LOCK_WAIT_SECONDS) + STATEMENT_READ_SLACK_SECONDS


def _set_socket_timeouts(dbapi_connection: Any, seconds: float | None) -> None:
    # pymysql applies _read_timeout/_write_timeout before each packet it reads or writes
    # (checked on the installed version by tests/integration/test_engine.py).
    dbapi_connection._read_timeout = seconds
    dbapi_connection._write_timeout = seconds


def _closed_by_the_server(dbapi_connection: Any) -> bool:
    """Whether the server (or a proxy between) closed or reset this idle connection, seen
    without a round trip: an idle MySQL connection has nothing to read unless the server
    said goodbye (wait_timeout's error packet, a KILL, a restart: then EOF or a reset). A
    connection silently black-holed is not seen here; the ping after idle is for that."""
    sock = getattr(dbapi_connection, "_sock", None)
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        # Readable (EOF, a reset, or a message nobody asked for) or failed: closed.
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _bound_statements(eng: Engine, connect_timeout: float) -> None:
    @event.listens_for(eng, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _closed_by_the_server(dbapi_connection):
            raise DisconnectionError("the server closed the pooled connection")
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned >= config.ping_after_idle():
            # Idle long enough for the server, a proxy or a NAT to have dropped it (a Lambda
            # frozen between invocations): ping it, bounded by the connect timeout set at
            # checkin. A dead one is replaced by the pool (DisconnectionError).
            try:
                dbapi_connection.ping(False)
            except Exception as exc:
                raise DisconnectionError(f"ping after idle: {exc}") from exc
        _set_socket_timeouts(dbapi_connection, _socket_timeout(current_statement_timeout()))

    @event.listens_for(eng, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:  # back in the pool: the next ping is bounded
            _set_socket_timeouts(dbapi_connection, connect_timeout)
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(eng, "before_cursor_execute", retval=True)
    def _limit(
        conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> tuple[str, Any]:
        seconds = current_statement_timeout()
        mariadb = bool(getattr(conn.dialect, "is_mariadb", False))
        return limited_statement(statement, seconds, mariadb=mariadb), parameters

    @event.listens_for(eng, "handle_error")
    def _failed(context: Any) -> None:
        # A statement that lost its connection or timed out; connect and ping failures
        # are counted once, by the pool (_GuardedQueuePool.connect).
        if context.is_disconnect and context.connection is not None:
            pool = eng.pool
            if isinstance(pool, _GuardedQueuePool):
                pool.circuit().failed()


# --- the circuit breaker ---------------------------------------------------------------


def is_connection_failure(exc: BaseException) -> bool:
    """Did the server not answer (refused, unreachable, timed out, cut), as opposed to
    answering with an error (a lock wait timeout, a statement limit, a constraint)?"""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig  # type: ignore[assignment]
    if isinstance(exc, OSError) and not isinstance(exc, breaker.CircuitOpen):
        return True
    args: tuple[Any, ...] = getattr(exc, "args", ())
    return (
        type(exc).__module__.startswith("pymysql")
        and args[:1] != ()
        and (args[0] in CONNECTION_ERRNOS)
    )


class _GuardedQueuePool(QueuePool):
    """The pool, behind the database's breaker: a checkout (ping after idle or connect
    included) is one call to the service; while the breaker is open it fails at once."""

    service_target = ""

    def circuit(self) -> breaker.CircuitBreaker:
        return breaker.for_service("database", self.service_target)

    def connect(self) -> Any:
        with self.circuit().call(is_connection_failure):
            return super().connect()

    def recreate(self) -> QueuePool:
        fresh = super().recreate()
        fresh.service_target = self.service_target  # type: ignore[attr-defined]
        return fresh


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


# --- one connection per request ------------------------------------------------------


class _RequestConnection:
    """The connection a request checks out on its first use of the database and keeps
    until it ends: authentication reads with it, the view's units of work run on it."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.busy = False

    def take(self) -> Connection | None:
        """The request's connection, checked out now if need be; None while it is in use
        (a unit inside a unit gets a connection of its own, as before)."""
        if self.busy:
            return None
        current = engine()
        conn = self.conn
        if conn is not None and (conn.closed or conn.invalidated or conn.engine is not current):
            conn.close()
            conn = self.conn = None
        if conn is None:
            conn = self.conn = current.connect()
        self.busy = True
        return conn

    def give_back(self) -> None:
        self.busy = False


_request_connection: contextvars.ContextVar[_RequestConnection | None] = contextvars.ContextVar(
    "request_connection", default=None
)


@contextmanager
def one_connection_per_request() -> Iterator[None]:
    """Around a request (ApiBlueprint opens it): the first use of the database checks out a
    connection that `reading()` and every `transaction()` of the request then share, and it
    goes back to the pool when the request ends. A request that never touches the
    database checks nothing out."""
    holder = _RequestConnection()
    token = _request_connection.set(holder)
    try:
        yield
    finally:
        _request_connection.reset(token)
        if holder.conn is not None:
            holder.conn.close()


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for reads outside a unit of work (who is calling, their permissions):
    the request's, or one of its own outside a request."""
    holder = _request_connection.get()
    conn = holder.take() if holder is not None else None
    if conn is None:
        with engine().connect() as own:
            yield own
        return
    assert holder is not None
    try:
        yield conn
    finally:
        try:
            if conn.in_transaction():
                conn.rollback()  # reads only; on MySQL nothing is sent (autocommit reads)
        finally:
            holder.give_back()


@contextmanager
def _unit_connection() -> Iterator[Connection]:
    holder = _request_connection.get()
    conn = holder.take() if holder is not None else None
    if conn is None:
        with engine().connect() as own:
            yield own
        return
    assert holder is not None
    try:
        if conn.in_transaction():
            conn.rollback()  # SQLAlchemy's autobegun reads: the unit begins afresh
        yield conn
    finally:
        holder.give_back()


@contextmanager
def transaction() -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back on any exception.

    Within a request it runs on the request's connection (one_connection_per_request);
    elsewhere (jobs, scripts, tests) on a connection of its own, back in the pool at its
    end. Hooks registered with after_commit() run once the commit went through, those of
    after_rollback() once it did not; both after the unit has ended (outside a request
    its connection is then back in the pool: on Lambda it holds one; inside one they reuse
    the request's connection), and a failing hook is logged, never raised: it must not
    turn a committed write into an error, nor hide the error that rolled the unit back.
    """
    hooks: dict[str, list[Hook]] = {"commit": [], "rollback": []}
    try:
        with _unit_connection() as conn:
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


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """INSERT that skips a row whose key is already present, where "present" is decided
    by the collation (on MariaDB "é1" and "e1" are one key)."""
    return insert(table).prefix_with("OR IGNORE" if conn.dialect.name == "sqlite" else "IGNORE")


def insert_in_batches(
    conn: Connection, table: Table, rows: Iterable[dict[str, Any]], *, batch_rows: int
) -> int:
    """Insert rows, ignoring duplicates, `batch_rows` per statement; how many were offered."""
    rows, offered = iter(rows), 0
    while batch := list(islice(rows, batch_rows)):
        conn.execute(insert_ignoring_duplicates(conn, table), batch)
        offered += len(batch)
    return offered


def dispose_all() -> None:
    """Close pooled connections (tests, and forked worker processes)."""
    with _engines_lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
