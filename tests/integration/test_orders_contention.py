"""Checkout and payment under contention, on real MariaDB and Redis only.

Buyers come as threads (requests to one threaded server, as `chalice local` serves
them) and as processes (each a container serving one request at a time, as Lambda
does). Whatever the interleaving: exactly `stock` units are sold, stock never goes
negative, nobody is refused while stock remains, carts and the wallet ledger agree
with the orders, and a payment and a cancellation of one order leave it paid once, or
cancelled with the money (refunded) and the stock back once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib import resources
from chalicelib.db.engine import transaction
from chalicelib.db.tables import balance_records, order_lines, orders, skus, users
from chalicelib.services import accounts, cart
from tests import factories
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="contention needs a real MariaDB (TEST_DATABASE_URL)",
)

PRICE = 10_000  # 100.00
START_BALANCE = 1_000_000  # 10000.00


@dataclass(frozen=True)
class Buyer:
    id: int
    address_id: int
    token: str


def _make_sku(stock: int) -> int:
    with transaction() as conn:
        return factories.sku(conn, name="热门电视", price=PRICE, stock=stock)


def _make_buyers(count: int, sku_id: int, units: int = 1) -> list[Buyer]:
    """Buyers with money, an address and `units` of the SKU selected in their cart.

    Rows are inserted directly (no password hashing): only their tokens are used.
    """
    buyers = []
    with transaction() as conn:
        for _ in range(count):
            user_id = factories.user(conn, balance=START_BALANCE)
            address_id = factories.address(conn, user_id)
            cart.add(conn, resources.redis(), user_id, sku_id, units, True)
            row = conn.execute(select(users).where(users.c.id == user_id)).one()
            buyers.append(Buyer(user_id, address_id, accounts.token_for(row)))
    return buyers


def _http(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else b"",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _buy_and_pay(base: str, buyer: Buyer) -> tuple[int, Any, int | None]:
    status, body = _http(
        base,
        "POST",
        "/orders/",
        buyer.token,
        {"address_id": buyer.address_id, "pay_method": "balance"},
    )
    paid = None
    if status == 201:
        paid, _ = _http(base, "POST", f"/orders/{body['order_id']}/payment/", buyer.token)
    return status, body, paid


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """The app behind chalice's threaded local server (one thread per request)."""
    from devtools.local_server import build_server

    local = build_server(ROOT, "127.0.0.1", 0)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    host, port = local.server.server_address[:2]
    yield f"http://{host}:{port}"
    local.server.shutdown()
    local.server.server_close()
    thread.join(timeout=10)


def _assert_consistent(sku_id: int, stock: int, buyers: list[Buyer], outcomes: list[Any]) -> None:
    """Exactly `stock` units sold; refusals only once it was gone; carts and ledger agree."""
    sold = [(b, o) for b, o in zip(buyers, outcomes, strict=True) if o[0] == 201]
    refused = [(b, o) for b, o in zip(buyers, outcomes, strict=True) if o[0] != 201]
    assert len(sold) == stock
    # nobody refused while stock remained: each refusal saw 0 left
    assert {o[0] for _, o in refused} <= {409}
    assert all(
        (o[1]["code"], o[1]["skus"]) == ("out_of_stock", {str(sku_id): 0}) for _, o in refused
    )
    assert all(o[2] == 200 for _, o in sold)
    redis = resources.redis()
    with transaction() as conn:
        row = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)).one()
        assert (row.stock, row.sales) == (0, stock)
        assert conn.scalar(select(func.sum(order_lines.c.count))) == stock
        assert conn.scalar(select(func.count()).select_from(orders)) == stock
        assert set(conn.scalars(select(orders.c.status))) == {2}
        for buyer, _ in sold:
            assert conn.scalar(select(users.c.balance).where(users.c.id == buyer.id)) == (
                START_BALANCE - PRICE
            )
            ledger = conn.execute(
                select(balance_records.c.amount, balance_records.c.balance_after).where(
                    balance_records.c.user_id == buyer.id
                )
            ).all()
            assert [tuple(r) for r in ledger] == [(-PRICE, START_BALANCE - PRICE)]
            assert redis.hgetall(f"cart:{buyer.id}") == {}
        for buyer, _ in refused:
            assert conn.scalar(select(users.c.balance).where(users.c.id == buyer.id)) == (
                START_BALANCE
            )
            assert redis.hgetall(f"cart:{buyer.id}") == {str(sku_id): "1"}
        assert conn.scalar(select(func.count()).select_from(balance_records)) == stock


def test_threads_rushing_a_small_stock_buy_exactly_the_stock(server: str) -> None:
    # given 40 buyers, each with one unit in the cart, and 15 units in stock
    sku_id = _make_sku(stock=15)
    buyers = _make_buyers(40, sku_id)

    # when they all check out and pay at once
    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(lambda b: _buy_and_pay(server, b), buyers))

    # then exactly 15 bought, the others were refused only because nothing was left
    _assert_consistent(sku_id, 15, buyers, outcomes)


def _container_init() -> None:
    """A forked 'Lambda container': its own database connections, its own Redis socket."""
    from chalicelib.db.engine import engine

    engine().dispose(close=False)  # never touch the parent's pooled connections


def _container_request(buyer: Buyer) -> tuple[int, Any, int | None]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        headers = {"Authorization": f"Bearer {buyer.token}", "Content-Type": "application/json"}
        placed = client.http.post(
            "/orders/",
            headers=headers,
            body=json.dumps({"address_id": buyer.address_id, "pay_method": "balance"}),
        )
        body = json.loads(placed.body)
        paid = None
        if placed.status_code == 201:
            paid = client.http.post(
                f"/orders/{body['order_id']}/payment/", headers=headers
            ).status_code
        return placed.status_code, body, paid


def test_processes_rushing_a_small_stock_buy_exactly_the_stock(database_url: str) -> None:
    # given 32 buyers with one unit each and 10 units in stock
    sku_id = _make_sku(stock=10)
    buyers = _make_buyers(32, sku_id)

    # when 8 containers (processes, one request at a time each) serve their checkouts
    context = multiprocessing.get_context("fork")
    with context.Pool(8, initializer=_container_init) as pool:
        outcomes = pool.map(_container_request, buyers, chunksize=1)

    # then exactly 10 bought, the others were refused only because nothing was left
    _assert_consistent(sku_id, 10, buyers, outcomes)


def test_payments_and_cancellations_of_one_order_move_money_and_stock_once(server: str) -> None:
    # given ten unpaid orders of 3 units each
    sku_id = _make_sku(stock=30)
    buyers = _make_buyers(10, sku_id, units=3)
    order_ids = []
    for buyer in buyers:
        status, body = _http(
            server,
            "POST",
            "/orders/",
            buyer.token,
            {"address_id": buyer.address_id, "pay_method": "balance"},
        )
        assert status == 201
        order_ids.append(body["order_id"])

    # when, for each order, four payments and four cancellations race
    def attempt(job: tuple[Buyer, str, str]) -> tuple[str, str, int]:
        buyer, order_id, action = job
        status, _ = _http(server, "POST", f"/orders/{order_id}/{action}/", buyer.token)
        return order_id, action, status

    jobs = [
        (buyer, order_id, action)
        for buyer, order_id in zip(buyers, order_ids, strict=True)
        for action in ("payment", "cancel") * 4
    ]
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, jobs))

    # then each order is paid once, or cancelled with the money and the stock back once:
    # cancelled unpaid (nothing taken), or paid and then refunded in full by a cancel
    # (a paid order not yet shipped is refunded to the wallet when its buyer cancels)
    paid_units = 0
    with transaction() as conn:
        for buyer, order_id in zip(buyers, order_ids, strict=True):
            mine = [(action, status) for oid, action, status in results if oid == order_id]
            payments_ok = [a for a, status in mine if status == 200 and a == "payment"]
            assert len(payments_ok) <= 1, mine
            assert {status for _, status in mine} <= {200, 409}, mine
            status = conn.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
            balance = conn.scalar(select(users.c.balance).where(users.c.id == buyer.id))
            ledger = [
                (r.amount, r.kind)
                for r in conn.execute(
                    select(balance_records)
                    .where(balance_records.c.order_id == order_id)
                    .order_by(balance_records.c.id)
                )
            ]
            if status == 2:
                assert payments_ok == ["payment"], mine
                assert (balance, ledger) == (START_BALANCE - 3 * PRICE, [(-3 * PRICE, "payment")])
                paid_units += 3
            else:
                assert status == 6
                assert balance == START_BALANCE
                assert ledger in ([], [(-3 * PRICE, "payment"), (3 * PRICE, "refund")]), ledger
                assert bool(ledger) == bool(payments_ok), (ledger, mine)
        row = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)).one()
    assert (row.stock, row.sales) == (30 - paid_units, paid_units)


def test_concurrent_payments_never_overdraw_the_wallet(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one buyer with 250.00 and five unpaid orders of 100.00 each (the default
    # MAX_UNPAID_ORDERS of 3 would refuse the fourth)
    monkeypatch.setenv("MAX_UNPAID_ORDERS", "5")
    sku_id = _make_sku(stock=10)
    (buyer,) = _make_buyers(1, sku_id)
    with transaction() as conn:
        conn.execute(users.update().where(users.c.id == buyer.id).values(balance=25_000))
    order_ids = []
    for n in range(5):
        if n:  # the first unit is in the cart already
            with transaction() as conn:
                cart.add(conn, resources.redis(), buyer.id, sku_id, 1, True)
        status, body = _http(
            server,
            "POST",
            "/orders/",
            buyer.token,
            {"address_id": buyer.address_id, "pay_method": "balance"},
        )
        assert status == 201
        order_ids.append(body["order_id"])

    # when all five are paid at once
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(
            pool.map(
                lambda oid: _http(server, "POST", f"/orders/{oid}/payment/", buyer.token),
                order_ids,
            )
        )

    # then two are paid, three refused for the balance, and the ledger adds up to 50.00 left
    assert sorted(status for status, _ in statuses) == [200, 200, 409, 409, 409], statuses
    with transaction() as conn:
        assert conn.scalar(select(users.c.balance).where(users.c.id == buyer.id)) == 5_000
        ledger = conn.execute(
            select(balance_records.c.amount, balance_records.c.balance_after).order_by(
                balance_records.c.id
            )
        ).all()
    assert [tuple(r) for r in ledger] == [(-PRICE, 15_000), (-PRICE, 5_000)]


def test_concurrent_requests_with_one_idempotency_key_make_one_order(server: str) -> None:
    # given a buyer with 2 units in the cart
    sku_id = _make_sku(stock=10)
    (buyer,) = _make_buyers(1, sku_id, units=2)

    # when the same checkout is sent six times at once with one Idempotency-Key
    def send(_: int) -> tuple[int, Any]:
        request = urllib.request.Request(
            server + "/orders/",
            method="POST",
            data=json.dumps({"address_id": buyer.address_id, "pay_method": "alipay"}).encode(),
            headers={
                "Authorization": f"Bearer {buyer.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "double-click",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))

    # then every answer is 201 with the same order, and the stock was taken once
    assert {status for status, _ in answers} == {201}
    assert len({body["order_id"] for _, body in answers}) == 1
    with transaction() as conn:
        assert conn.scalar(select(func.count()).select_from(orders)) == 1
        row = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)).one()
    assert (row.stock, row.sales) == (8, 2)
    assert resources.redis().hgetall(f"cart:{buyer.id}") == {}


def test_concurrent_checkouts_of_one_buyer_cannot_pass_the_unpaid_order_limit(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given MAX_UNPAID_ORDERS=2, a buyer with one unpaid order and a unit in the cart
    monkeypatch.setenv("MAX_UNPAID_ORDERS", "2")
    sku_id = _make_sku(stock=10)
    (buyer,) = _make_buyers(1, sku_id)
    with transaction() as conn:
        factories.order(conn, buyer.id, sku_id)

    # when six checkouts are sent at once
    def send(_: int) -> tuple[int, Any]:
        body = {"address_id": buyer.address_id, "pay_method": "alipay"}
        return _http(server, "POST", "/orders/", buyer.token, body)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))

    # then one gets the second order, every other one is refused for the limit
    assert sorted(status for status, _ in answers) == [201, 409, 409, 409, 409, 409], answers
    assert {body["code"] for status, body in answers if status == 409} == {"too_many_unpaid_orders"}
    with transaction() as conn:
        assert conn.scalar(select(func.count()).select_from(orders)) == 2
        row = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)).one()
    assert (row.stock, row.sales) == (9, 1)
