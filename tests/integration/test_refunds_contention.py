"""Refunds under contention, on real MariaDB only: requests as threads of one threaded
server (as `chalice local` serves them) against the fake Alipay over HTTP.

Whatever the interleaving, the money goes back once: one refund at Alipay, one refunds
row, the stock returned once.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib.clock import utcnow
from chalicelib.db.engine import transaction
from chalicelib.db.tables import refunds, skus, users
from chalicelib.services import accounts
from tests import factories
from tests.conftest import ROOT
from tests.fakes.alipay import FakeAlipay, KeyPair

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="contention needs a real MariaDB (TEST_DATABASE_URL)",
)

APP_ID = "2021004100000051"
PRICE = 599900


@pytest.fixture
def fake_alipay(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlipay]:
    app, alipay = KeyPair.generate(), KeyPair.generate()
    fake = FakeAlipay(APP_ID, app, alipay, KeyPair.generate()).serve()
    monkeypatch.setenv("ALIPAY_APP_ID", APP_ID)
    monkeypatch.setenv("ALIPAY_GATEWAY", fake.url)
    monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", app.private_pem)
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", alipay.public_pem)
    yield fake
    fake.stop()


@pytest.fixture
def server(database_url: str, fake_alipay: FakeAlipay) -> Iterator[str]:
    from devtools.local_server import build_server

    local = build_server(ROOT, "127.0.0.1", 0)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    host, port = local.server.server_address[:2]
    yield f"http://{host}:{port}"
    local.server.shutdown()
    local.server.server_close()
    thread.join(timeout=10)


def _post(base: str, path: str, token: str, body: Any, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _paid_order(fake: FakeAlipay, pay_method: str = "alipay") -> tuple[str, int, Any, str]:
    """A paid, unshipped order of 5999.00 (9 of its SKU left); its buyer and a staff token."""
    with transaction() as conn:
        sku_id = factories.sku(conn, price=PRICE, stock=9)
        buyer_id = factories.user(conn)
        staff_id = factories.user(conn, is_staff=True, is_superuser=True)
        order_id = factories.order(conn, buyer_id, sku_id, paid_at=utcnow(), pay_method=pay_method)
        if pay_method == "alipay":
            factories.payment(conn, order_id, amount=PRICE, trade_no=f"T{order_id}")
        buyer = conn.execute(select(users).where(users.c.id == buyer_id)).one()
        staff = conn.execute(select(users).where(users.c.id == staff_id)).one()
    if pay_method == "alipay":
        fake.paid(order_id, "5999.00", trade_no=f"T{order_id}")
    return order_id, sku_id, buyer, accounts.token_for(staff)


def _refund_rows(order_id: str) -> list[tuple[Any, ...]]:
    with transaction() as conn:
        return [
            (r.amount, r.status)
            for r in conn.execute(select(refunds).where(refunds.c.order_id == order_id))
        ]


def _stock(sku_id: int) -> int:
    with transaction() as conn:
        return int(conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id)))


def test_ten_identical_refund_requests_with_one_key_make_one_refund(
    server: str, fake_alipay: FakeAlipay
) -> None:
    # given a paid order
    order_id, sku_id, _, staff = _paid_order(fake_alipay)

    # when staff's refund is sent ten times at once with one Idempotency-Key
    def send(_: int) -> tuple[int, Any]:
        path = f"/meiduo_admin/orders/{order_id}/refunds/"
        return _post(server, path, staff, {"reason": "双击"}, **{"Idempotency-Key": "r-51"})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))

    # then all are the one refund, made once at Alipay; the order cancelled, stock back once
    assert {status for status, _ in answers} == {201}, answers
    assert len({body["refund_no"] for _, body in answers}) == 1
    assert len(fake_alipay.refunds) == 1
    assert _refund_rows(order_id) == [(PRICE, "succeeded")]
    assert _stock(sku_id) == 10


def test_ten_full_refunds_at_once_without_a_key_refund_once(
    server: str, fake_alipay: FakeAlipay
) -> None:
    order_id, sku_id, _, staff = _paid_order(fake_alipay)

    def send(_: int) -> tuple[int, Any]:
        return _post(server, f"/meiduo_admin/orders/{order_id}/refunds/", staff, {})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))

    # one refund; the others were told nothing was left (400) or the order was gone (409)
    assert sorted(status for status, _ in answers)[0] == 201
    assert [status for status, _ in answers].count(201) == 1, answers
    assert {status for status, _ in answers} <= {201, 400, 409}
    assert len(fake_alipay.refunds) == 1
    assert _refund_rows(order_id) == [(PRICE, "succeeded")]
    assert _stock(sku_id) == 10


@pytest.mark.parametrize("pay_method", ["alipay", "balance"])
def test_ten_cancels_of_a_paid_order_at_once_give_the_money_back_once(
    server: str, fake_alipay: FakeAlipay, pay_method: str
) -> None:
    order_id, sku_id, buyer, _ = _paid_order(fake_alipay, pay_method)
    token = accounts.token_for(buyer)

    def send(_: int) -> tuple[int, Any]:
        return _post(server, f"/orders/{order_id}/cancel/", token, {})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))

    assert {status for status, _ in answers} <= {200, 409}, answers
    assert 200 in {status for status, _ in answers}
    assert _refund_rows(order_id) == [(PRICE, "succeeded")]
    assert len(fake_alipay.refunds) == (1 if pay_method == "alipay" else 0)
    assert _stock(sku_id) == 10
    with transaction() as conn:
        balance = conn.scalar(select(users.c.balance).where(users.c.id == buyer.id))
    assert balance == (PRICE if pay_method == "balance" else 0)
