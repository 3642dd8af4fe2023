"""A stalled MariaDB or Redis (accepts connections, never answers: the fault proxy's
"hold") costs a request the configured bound, not 25 s; after BREAKER_FAILURES such
requests the service's breaker opens and requests fail at once (no new connection is
even tried), /health/ says so, nothing is half-written, and after the cool-down one
trial request brings the app back by itself.

The bounds are the tests' own, small ones (1 s connect, 0.5 s Redis, 2 s cool-down);
elapsed times are checked against them with slack, never against a fixed wall clock.
Real pass only: the embedded twins have no sockets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.conftest import REAL_DATABASE, REAL_REDIS, ShopClient, json_headers
from tests.factories import ADDRESS
from tests.fakes.tcp_proxy import TcpProxy
from tests.integration.test_faults import _through, _upstream

pytestmark = pytest.mark.skipif(
    not (REAL_DATABASE and REAL_REDIS), reason="needs real MariaDB and Redis servers"
)

CONNECT_TIMEOUT = 1.0
REDIS_TIMEOUT = 0.5
COOLDOWN = 2.0
# Thread scheduling and the test client on a loaded 2-core machine.
SLACK = 1.5
AT_ONCE = 0.5


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
    monkeypatch.setenv("BREAKER_FAILURES", "2")
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", str(COOLDOWN))
    # Every checkout pings, as before DATABASE_PING_AFTER_IDLE_SECONDS (default 5 s): these
    # tests stall the server right after a request, which a connection idle for less than
    # that meets with its first statement (bounded by the statement's read timeout).
    monkeypatch.setenv("DATABASE_PING_AFTER_IDLE_SECONDS", "0")


@pytest.fixture
def db_proxy(
    database_url: str, limits: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TcpProxy]:
    proxy = TcpProxy(_upstream(database_url)).start()
    monkeypatch.setenv("DATABASE_URL", _through(database_url, proxy))
    yield proxy
    proxy.close()
    from chalicelib.db import engine as engine_module

    with engine_module._engines_lock:
        found = engine_module._engines.pop(_through(database_url, proxy), None)
    if found is not None:
        found.dispose()


@pytest.fixture
def redis_proxy(
    database_url: str, limits: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TcpProxy]:
    assert REAL_REDIS
    proxy = TcpProxy(_upstream(REAL_REDIS)).start()
    url = _through(REAL_REDIS, proxy)
    monkeypatch.setenv(
        "REDIS_URL", f"{url}?socket_timeout={REDIS_TIMEOUT}&socket_connect_timeout={REDIS_TIMEOUT}"
    )
    yield proxy
    proxy.close()


def timed(call: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def assert_503(response: Any, retry_after: str | None = None) -> None:
    assert response.status_code == 503, response.body
    assert json.loads(response.body)["code"] == "service_unavailable"
    if retry_after is not None:
        assert response.headers["Retry-After"] == retry_after


def address_count(db: Any) -> int:
    from chalicelib.db.tables import addresses

    with db.connect() as conn:  # the direct engine, not through the proxy
        return int(conn.execute(select(func.count()).select_from(addresses)).scalar())


def test_a_black_holed_database_costs_the_bound_then_nothing_until_it_returns(
    client: ShopClient, make_user: Any, auth_headers: Any, db: Any, db_proxy: TcpProxy
) -> None:
    headers = {**auth_headers(make_user("stalled")), **json_headers()}
    body = json.dumps({**ADDRESS, "title": "公司"})
    assert client.http.get("/addresses/", headers=headers).status_code == 200  # one pooled

    db_proxy.mode = "hold"
    # the pooled connection's pre-ping times out, then the pool's one reconnect
    first, response = timed(lambda: client.http.get("/addresses/", headers=headers))
    assert_503(response, retry_after="5")
    assert first <= 2 * CONNECT_TIMEOUT + SLACK
    # a fresh connection's handshake times out: the second failure opens the breaker
    second, response = timed(lambda: client.http.post("/addresses/", headers=headers, body=body))
    assert_503(response, retry_after="5")
    assert second <= CONNECT_TIMEOUT + SLACK

    tried = db_proxy.connections
    third, response = timed(lambda: client.http.post("/addresses/", headers=headers, body=body))
    took, health = timed(lambda: client.http.get("/health/"))

    assert_503(response)
    assert third <= AT_ONCE
    assert 1 <= int(response.headers["Retry-After"]) <= COOLDOWN
    assert took <= AT_ONCE
    assert health.status_code == 503
    assert health.json_body["database"] == "unavailable"
    assert health.json_body["circuits"]["database"] == "open"
    assert db_proxy.connections == tried  # open: not even a connection was tried
    assert address_count(db) == 0

    # after the cool-down one trial goes through; still black-holed, it opens it again
    time.sleep(COOLDOWN)
    trial, response = timed(lambda: client.http.get("/addresses/", headers=headers))
    assert_503(response, retry_after="5")
    assert trial <= CONNECT_TIMEOUT + SLACK
    after, response = timed(lambda: client.http.get("/addresses/", headers=headers))
    assert_503(response)
    assert after <= AT_ONCE

    # the database returns: after the cool-down the next request is the trial, and it works
    db_proxy.mode = "forward"
    time.sleep(COOLDOWN)
    created = client.http.post("/addresses/", headers=headers, body=body)
    health = client.http.get("/health/")

    assert created.status_code == 201, created.body
    assert address_count(db) == 1
    assert health.status_code == 200
    assert health.json_body["circuits"]["database"] == "closed"


@pytest.mark.parametrize("mode", ["refuse", "close", "reset"])
def test_a_database_refusing_or_closing_opens_the_breaker_too(
    client: ShopClient, make_user: Any, auth_headers: Any, db: Any, db_proxy: TcpProxy, mode: str
) -> None:
    headers = {**auth_headers(make_user("refused")), **json_headers()}
    body = json.dumps({**ADDRESS, "title": "公司"})
    db_proxy.mode = mode

    answers = [client.http.post("/addresses/", headers=headers, body=body) for _ in range(3)]

    for response in answers:
        assert_503(response)
    assert [r.headers["Retry-After"] for r in answers[:2]] == ["5", "5"]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= COOLDOWN  # the breaker's
    assert address_count(db) == 0
    db_proxy.mode = "forward"
    time.sleep(COOLDOWN)
    assert client.http.post("/addresses/", headers=headers, body=body).status_code == 201


def test_statements_are_limited_by_the_server_and_that_is_not_a_stall(
    db: Any, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow SELECT ends with the server's statement limit (a 503, the connection still
    usable), and does not count as the database being down; a job's limit is longer."""
    from sqlalchemy.exc import OperationalError

    from chalicelib import resources
    from chalicelib.db.engine import engine, statement_timeout, transaction

    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "0.5")
    monkeypatch.setenv("JOB_STATEMENT_TIMEOUT", "3")
    for _ in range(3):  # more than BREAKER_FAILURES
        took, error = timed(lambda: _raises(OperationalError, "SELECT SLEEP(2)"))
        assert error.orig.args[0] == 1969  # ER_STATEMENT_TIMEOUT
        assert resources.is_unavailable(error)
        assert took <= 0.5 + SLACK

    with resources.job_statements(), transaction() as conn:
        assert conn.execute(text("SELECT SLEEP(1)")).scalar() == 0
    with statement_timeout(None), transaction() as conn:  # a migration's
        assert conn.execute(text("SELECT SLEEP(1)")).scalar() == 0
    assert engine().pool.circuit().state == "closed"  # type: ignore[attr-defined]


def _raises(kind: type[Exception], sql: str) -> Any:
    from chalicelib.db.engine import transaction

    try:
        with transaction() as conn:
            conn.execute(text(sql))
    except kind as exc:
        return exc
    raise AssertionError(f"{sql} did not fail")


def test_a_black_holed_redis_costs_its_timeout_then_nothing_until_it_returns(
    client: ShopClient, make_user: Any, auth_headers: Any, redis_proxy: TcpProxy
) -> None:
    headers = auth_headers(make_user("stalled"))
    assert client.http.get("/cart/", headers=headers).status_code == 200

    redis_proxy.mode = "hold"
    for _ in range(2):
        took, response = timed(lambda: client.http.get("/cart/", headers=headers))
        assert_503(response, retry_after="5")
        assert took <= REDIS_TIMEOUT + SLACK
    tried = redis_proxy.connections
    took, response = timed(lambda: client.http.get("/cart/", headers=headers))
    health = client.http.get("/health/")

    assert_503(response)
    assert took <= AT_ONCE
    assert 1 <= int(response.headers["Retry-After"]) <= COOLDOWN
    assert health.json_body["redis"] == "unavailable"
    assert health.json_body["circuits"]["redis"] == "open"
    assert redis_proxy.connections == tried

    redis_proxy.mode = "forward"
    time.sleep(COOLDOWN)
    assert client.http.get("/cart/", headers=headers).status_code == 200
    assert client.http.get("/health/").json_body["circuits"]["redis"] == "closed"


def test_checked_out_connections_read_with_the_statement_bound_pooled_ones_the_connect_bound(
    db_proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine sets pymysql's per-packet read timeout (`_read_timeout`, a private
    attribute) on checkout and checkin; this checks that the installed pymysql honours
    it: a connection whose server goes silent times out after the timeout set last. And
    a statement that loses its connection counts toward the breaker."""
    from sqlalchemy.exc import OperationalError

    from chalicelib.breaker import CircuitOpen
    from chalicelib.db.engine import MYSQL_LOCK_WAIT_SECONDS, STATEMENT_READ_SLACK_SECONDS, engine

    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "3")
    eng = engine()
    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert raw._read_timeout == MYSQL_LOCK_WAIT_SECONDS + STATEMENT_READ_SLACK_SECONDS
    assert raw._read_timeout == CONNECT_TIMEOUT  # pooled: the next pre-ping's bound

    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw._read_timeout = 0.3  # as the checkout sets it, shorter for the test
        db_proxy.mode = "hold"
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised:
            conn.execute(text("SELECT 1"))
        assert raised.value.orig.args[0] == 2013
        assert time.monotonic() - started <= 0.3 + SLACK

    # that lost statement was the first failure; the next connection's handshake the second
    with pytest.raises(OperationalError):
        eng.connect()
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        eng.connect()
    assert time.monotonic() - started <= AT_ONCE
