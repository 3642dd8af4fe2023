"""Fault injection: a TCP proxy (tests/fakes/tcp_proxy.py) between the app and MariaDB,
Redis or FastDFS (the fake server's tracker, or its storage server: the tracker names
the proxy as the storage address) refuses connections, resets them mid-reply, or slows
them down. Each gives a 503 with Retry-After (or, slowed but within the timeouts, the
normal answer; a purge, which needs only the database, its 204 with the file's deletion
kept queued), nothing is half-written, and the app recovers when the service is back.

Real pass only (TEST_DATABASE_URL / TEST_REDIS_URL): the embedded twins have no sockets.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import REAL_DATABASE, REAL_REDIS, ShopClient, json_headers
from tests.factories import ADDRESS
from tests.fakes.fastdfs_server import FakeFastDFS
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
    # The proxy cuts connections out of band, and the next request expects a pooled one
    # it left half-open to be replaced: every checkout pings, as before
    # DATABASE_PING_AFTER_IDLE_SECONDS (in production, only after 5 s idle).
    monkeypatch.setenv("DATABASE_PING_AFTER_IDLE_SECONDS", "0")
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


def _checkout_state(db: Any, user_id: int, sku_id: int) -> tuple[list[tuple[str, int]], int]:
    """The buyer's orders with the units of their lines, and the SKU's stock: read directly,
    not through the proxy."""
    from chalicelib.db.tables import order_lines, orders, skus

    with db.connect() as conn:
        placed = conn.execute(
            select(orders.c.order_id, func.coalesce(func.sum(order_lines.c.count), 0))
            .select_from(orders.outerjoin(order_lines, order_lines.c.order_id == orders.c.order_id))
            .where(orders.c.user_id == user_id)
            .group_by(orders.c.order_id)
        ).all()
        stock = conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id))
    return [(order_id, int(units)) for order_id, units in placed], int(stock)


def test_a_database_cut_anywhere_in_a_checkout_leaves_a_whole_order_or_none(
    client: ShopClient,
    make_user: Any,
    make_sku: Any,
    auth_headers: Any,
    db: Any,
    db_proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection is reset after N bytes from MariaDB, for N stepping through the
    whole checkout (authentication, address, cart prices, the order, stock, lines,
    commit): each attempt answers 201 or 503, and the database then holds either a
    whole order with its stock taken or nothing of it."""
    from chalicelib import resources
    from tests import factories

    monkeypatch.setenv("MAX_UNPAID_ORDERS", "100")  # every attempt may place one
    user = make_user("cut_buyer")
    headers = {**auth_headers(user), **json_headers()}
    sku_id = make_sku(stock=100, price="10.00")
    with db.begin() as conn:
        address_id = factories.address(conn, user.id)
    order = json.dumps({"address_id": address_id, "pay_method": "alipay"})
    answers: set[int] = set()
    for cut_after in range(150, 6000, 350):
        db_proxy.mode = "forward"
        resources.redis().delete(f"cart:{user.id}", f"cart:{user.id}:selected")
        added = client.http.post(
            "/cart/", headers=headers, body=json.dumps({"sku_id": sku_id, "count": 2})
        )
        assert added.status_code == 201, added.body
        before, stock_before = _checkout_state(db, user.id, sku_id)

        db_proxy.reset_after = cut_after
        db_proxy.mode = "reset"
        response = client.http.post("/orders/", headers=headers, body=order)

        answers.add(response.status_code)
        after, stock_after = _checkout_state(db, user.id, sku_id)
        if response.status_code == 503:
            assert (after, stock_after) == (before, stock_before), cut_after
        else:
            assert response.status_code == 201, (cut_after, response.body)
            new = [line for line in after if line not in before]
            assert new == [(json.loads(response.body)["order_id"], 2)], cut_after
            assert stock_after == stock_before - 2, cut_after
        # and never an order without its lines
        assert all(units > 0 for _, units in after), cut_after

    assert answers == {201, 503}  # the cuts reached past the commit, and short of it


def test_a_database_cut_anywhere_in_a_wallet_payment_leaves_it_paid_or_untouched(
    client: ShopClient,
    make_user: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
    db: Any,
    db_proxy: TcpProxy,
) -> None:
    """As for checkout, a cut after N bytes at every step of `POST /orders/{id}/payment/`
    from the wallet: 200 with the order paid, the balance down by its amount and one
    ledger row, or 503 with all three as they were."""
    from chalicelib.db.tables import balance_records, orders, users

    user = make_user("cut_payer")
    with db.begin() as conn:
        conn.execute(users.update().where(users.c.id == user.id).values(balance=10_000_000))
    headers = {**auth_headers(user), **json_headers()}
    sku_id = make_sku(stock=100, price="10.00")

    def state(order_id: str) -> tuple[int, int, int]:
        with db.connect() as conn:
            status = conn.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
            balance = conn.scalar(select(users.c.balance).where(users.c.id == user.id))
            ledger = conn.scalar(
                select(func.count())
                .select_from(balance_records)
                .where(balance_records.c.order_id == order_id)
            )
        return int(status), int(balance), int(ledger)

    answers: set[int] = set()
    for cut_after in range(300, 12_000, 700):
        db_proxy.mode = "forward"
        order_id = make_order(user.id, sku_id, pay_method="balance", price=1000)
        status, balance, ledger = state(order_id)
        assert (status, ledger) == (1, 0)

        db_proxy.reset_after = cut_after
        db_proxy.mode = "reset"
        response = client.http.post(f"/orders/{order_id}/payment/", headers=headers)

        answers.add(response.status_code)
        if response.status_code == 503:
            assert state(order_id) == (1, balance, 0), cut_after
        else:
            assert response.status_code == 200, (cut_after, response.body)
            assert state(order_id) == (2, balance - 1000, 1), cut_after

    assert answers == {200, 503}


# --- FastDFS -------------------------------------------------------------------------

FASTDFS_DEADLINE = 0.5
MEDIA_URL = "http://img.test:8888/"
IMAGES = "/meiduo_admin/skus/images/"


class ProxiedFastDFS:
    """The fake FastDFS with a proxy in front of its tracker and one in front of its
    storage server (the address the tracker hands out)."""

    def __init__(self) -> None:
        self.fake = FakeFastDFS(slow_seconds=5.0)
        self.tracker = TcpProxy(("127.0.0.1", self.fake.tracker.port), delay=1.0).start()
        self.storage = TcpProxy(("127.0.0.1", self.fake.storage.port), delay=1.0).start()
        self.fake.advertised_storage_port = self.storage.port

    @property
    def url(self) -> str:
        return f"fastdfs://127.0.0.1:{self.tracker.port}?timeout={FASTDFS_DEADLINE}"

    def close(self) -> None:
        self.tracker.close()
        self.storage.close()
        self.fake.stop()


@pytest.fixture
def fastdfs_proxies(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProxiedFastDFS]:
    proxied = ProxiedFastDFS()
    monkeypatch.setenv("STORAGE_URL", proxied.url)
    monkeypatch.setenv("MEDIA_URL", MEDIA_URL)
    yield proxied
    proxied.close()


def _upload(client: ShopClient, headers: dict[str, str], sku_id: int) -> Any:
    from tests.functional.images.forms import image_bytes, multipart

    body, content_type = multipart(
        {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")}
    )
    return client.http.post(IMAGES, body=body, headers={**headers, "Content-Type": content_type})


def _images_and_queue(db: Any) -> tuple[list[str], list[str]]:
    from chalicelib.db.tables import pending_file_deletions, sku_images

    with db.connect() as conn:
        images = list(conn.execute(select(sku_images.c.image).order_by(sku_images.c.id)).scalars())
        queued = list(
            conn.execute(
                select(pending_file_deletions.c.file_id).order_by(pending_file_deletions.c.id)
            ).scalars()
        )
    return images, queued


@pytest.mark.parametrize("mode", ["refuse", "reset", "slow"])
@pytest.mark.parametrize("role", ["tracker", "storage"])
def test_fastdfs_down_gives_503_on_upload_stores_nothing_and_the_app_recovers(
    client: ShopClient,
    make_user: Any,
    make_sku: Any,
    auth_headers: Any,
    db: Any,
    fastdfs_proxies: ProxiedFastDFS,
    role: str,
    mode: str,
) -> None:
    headers = auth_headers(make_user(is_staff=True, is_superuser=True))
    sku_id = make_sku()
    proxy = getattr(fastdfs_proxies, role)

    proxy.reset_after = 5  # within the first reply's 10-byte header
    proxy.mode = mode  # slow: 1 s per reply, beyond the 0.5 s storage deadline
    _assert_503(_upload(client, headers, sku_id))
    assert _images_and_queue(db) == ([], [])
    assert fastdfs_proxies.fake.files == {}
    health = client.http.get("/health/")
    assert (health.status_code, json.loads(health.body)["storage"]) == (503, "unavailable")

    proxy.mode = "forward"
    created = _upload(client, headers, sku_id)
    assert created.status_code == 201, created.body
    images, queued = _images_and_queue(db)
    assert list(fastdfs_proxies.fake.files) == images and queued == []
    assert client.http.get("/health/").status_code == 200


@pytest.mark.parametrize("mode", ["refuse", "reset", "slow"])
def test_a_purge_with_fastdfs_down_keeps_the_deletion_queued_until_it_happened(
    client: ShopClient,
    make_user: Any,
    make_sku: Any,
    auth_headers: Any,
    db: Any,
    fastdfs_proxies: ProxiedFastDFS,
    mode: str,
) -> None:
    from chalicelib.jobs import run_now

    headers = auth_headers(make_user(is_staff=True, is_superuser=True))
    created = json.loads(_upload(client, headers, make_sku()).body)
    file_id = created["image"].removeprefix(MEDIA_URL)

    fastdfs_proxies.storage.reset_after = 5
    fastdfs_proxies.storage.mode = mode
    purged = client.http.delete(f"{IMAGES}{created['id']}/?purge=true", headers=headers)

    assert purged.status_code == 204
    assert _images_and_queue(db) == ([], [file_id])
    assert run_now("retry-file-deletions").startswith("deleted 0, still used 0; storage failed")
    assert _images_and_queue(db) == ([], [file_id])

    fastdfs_proxies.storage.mode = "forward"
    assert run_now("retry-file-deletions") == "deleted 1, still used 0"
    assert _images_and_queue(db) == ([], [])
    assert fastdfs_proxies.fake.files == {}


def test_the_proxy_itself_forwards_holds_closes_and_refuses() -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def echo() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                conn.sendall(conn.recv(100))
            conn.close()

    threading.Thread(target=echo, daemon=True).start()
    proxy = TcpProxy(server.getsockname()).start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(100) == b"ping"
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as open_before:
            proxy.mode = "hold"  # accepted, and nothing answers, old or new connections
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.3) as sock:
                sock.sendall(b"ping")
                with pytest.raises(TimeoutError):
                    sock.recv(100)
            open_before.settimeout(0.3)
            open_before.sendall(b"ping")
            with pytest.raises(TimeoutError):
                open_before.recv(100)
        proxy.mode = "close"  # accepted, then closed
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            assert sock.recv(100) == b""
        proxy.mode = "refuse"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    finally:
        proxy.close()
        server.close()
