"""Fault injection: a TCP proxy (tests/fakes/tcp_proxy.py) between the app and MariaDB
or Redis refuses connections, resets them mid-reply, or slows them down. Each gives a
503 with Retry-After (or, slowed but within the timeouts, the normal answer), nothing
is half-written, and the app recovers when the service is back.

Real pass only (TEST_DATABASE_URL / TEST_REDIS_URL): the embedded twins have no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import REAL_DATABASE, REAL_REDIS, ShopClient, json_headers
from tests.factories import ADDRESS
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(
    not (REAL_DATABASE and REAL_REDIS), reason="needs real MariaDB and Redis servers"
)


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _upstream(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "127.0.0.1", int(parts.port or 0))


@pytest.fixture
def redis_proxy(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TcpProxy]:
    assert REAL_REDIS
    proxy = TcpProxy(_upstream(REAL_REDIS), delay=3.0).start()
    monkeypatch.setenv("REDIS_URL", _through(REAL_REDIS, proxy))
    yield proxy
    proxy.close()


@pytest.fixture
def db_proxy(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TcpProxy]:
    proxy = TcpProxy(_upstream(database_url), delay=0.2).start()
    monkeypatch.setenv("DATABASE_URL", _through(database_url, proxy))
    yield proxy
    proxy.close()
    from chalicelib.db import engine as engine_module

    with engine_module._engines_lock:
        found = engine_module._engines.pop(_through(database_url, proxy), None)
    if found is not None:
        found.dispose()


def _assert_503(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert json.loads(response.body)["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("mode", ["refuse", "reset", "slow"])
def test_redis_down_gives_503_and_the_app_recovers(
    client: ShopClient, make_user: Any, auth_headers: Any, redis_proxy: TcpProxy, mode: str
) -> None:
    user = make_user("faulty")
    headers = auth_headers(user)
    assert client.http.get("/cart/", headers=headers).status_code == 200

    redis_proxy.mode = mode  # slow: 3 s per reply, beyond the client's socket timeout
    _assert_503(client.http.get("/cart/", headers=headers))

    redis_proxy.mode = "forward"
    assert client.http.get("/cart/", headers=headers).status_code == 200


@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_mariadb_down_gives_503_writes_nothing_and_the_app_recovers(
    client: ShopClient, make_user: Any, auth_headers: Any, db: Any, db_proxy: TcpProxy, mode: str
) -> None:
    from chalicelib.db.tables import addresses

    user = make_user("faulty")
    headers = auth_headers(user)
    body = json.dumps({**ADDRESS, "title": "公司"})
    assert client.http.get("/addresses/", headers=headers).status_code == 200

    db_proxy.mode = mode
    db_proxy.reset_after = 0
    _assert_503(client.http.post("/addresses/", headers=headers, body=body))
    with db.connect() as conn:  # the direct engine, not through the proxy
        assert conn.execute(select(func.count()).select_from(addresses)).scalar() == 0

    db_proxy.mode = "forward"
    response = client.http.post("/addresses/", headers={**headers, **json_headers()}, body=body)
    assert response.status_code == 201
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(addresses)).scalar() == 1


def test_a_slow_mariadb_within_the_timeouts_still_answers(
    client: ShopClient, make_user: Any, auth_headers: Any, db_proxy: TcpProxy
) -> None:
    user = make_user("patient")
    db_proxy.mode = "slow"  # 0.2 s per reply chunk
    response = client.http.get("/addresses/", headers=auth_headers(user))
    assert response.status_code == 200


def test_the_proxy_itself_forwards_and_refuses() -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def echo() -> None:
        conn, _ = server.accept()
        conn.sendall(conn.recv(100))
        conn.close()

    threading.Thread(target=echo, daemon=True).start()
    proxy = TcpProxy(server.getsockname()).start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(100) == b"ping"
        proxy.mode = "refuse"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    finally:
        proxy.close()
        server.close()
