"""The whole Alipay flow over HTTP against a real `manage.py run` server and its simulator.

The server runs in a subprocess on a free port with its own SQLite database and var/
folder (the simulator's keys are generated there), in New York's time zone: Alipay
reads Beijing time, so a request stamped with the local clock would be refused by the
simulator. order -> pay_url -> cashier page -> Pay -> (notify) -> order paid -> return;
then trade.query and trade.close against the simulator, through the status endpoint,
the reconcile job (`manage.py runjob`) and the app's own client.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    env: dict[str, str]
    database_url: str

    def call(
        self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        if isinstance(body, dict):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, method: str, url: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, _, data = self.call(method, url, body, headers)
        assert status < 300, (status, data)
        return json.loads(data) if data else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import migrate

    folder = tmp_path_factory.mktemp("flow")
    port = free_port()
    database_url = f"sqlite:///{folder / 'shop.db'}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "ALIPAY_GATEWAY", "API_BASE_URL", "FRONTEND_URL"}
    }
    env.update(
        SHOP_STAGE="local",
        PORT=str(port),
        SHOP_VAR_DIR=str(folder / "var"),
        DATABASE_URL=database_url,
        STORAGE_URL=f"file://{folder / 'media'}",
        MEDIA_URL=f"http://127.0.0.1:{port}/media/",
        MAIL_URL=f"file://{folder / 'outbox'}",
        TZ="America/New_York",
        PYTHONUNBUFFERED="1",
    )
    migrate(database_url)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    running = Server(port, env, database_url)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (folder / "server.log").read_text()
            try:
                if running.call("GET", "/health/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health/ in 60 s"
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def shop_rows(server: Server) -> Any:
    """A SKU with stock, written straight into the server's database."""
    from chalicelib.db.engine import build_engine
    from tests import factories

    engine = build_engine(server.database_url)
    with engine.begin() as conn:
        sku_id = factories.sku(conn, name="海信 65英寸 4K 电视", price=399900, stock=10)
    yield engine, sku_id
    engine.dispose()


@pytest.fixture(scope="module")
def buyer(server: Server) -> Any:
    user = server.json("POST", "/users/", {"username": "flowbuyer", "password": "correct-horse-1"})
    token = user["token"]
    address = server.json(
        "POST",
        "/addresses/",
        {
            "receiver": "李四",
            "province": "北京市",
            "city": "北京市",
            "district": "海淀区",
            "place": "中关村大街 1 号",
            "mobile": "13900139000",
        },
        token,
    )
    return token, address["id"]


def place_order(server: Server, buyer: Any, sku_id: int) -> dict[str, Any]:
    token, address_id = buyer
    server.json("POST", "/cart/", {"sku_id": sku_id, "count": 1}, token)
    order: dict[str, Any] = server.json(
        "POST", "/orders/", {"address_id": address_id, "pay_method": "alipay"}, token
    )
    return order


def open_cashier(server: Server, buyer: Any, order_id: str) -> str:
    token, _ = buyer
    pay_url: str = server.json("POST", f"/orders/{order_id}/payment/", None, token)["pay_url"]
    assert pay_url.startswith(f"http://127.0.0.1:{server.port}/alipay-sim/gateway/?")
    status, headers, page = server.call("GET", pay_url)
    assert status == 200, page
    assert headers["Content-Type"].startswith("text/html")
    return page.decode()


def press(server: Server, order_id: str, button: str) -> tuple[int, dict[str, str], bytes]:
    return server.call(
        "POST",
        f"/alipay-sim/trades/{order_id}/{button}/",
        "",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )


def payment_rows(engine: Any, order_id: str) -> list[Any]:
    from sqlalchemy import select

    from chalicelib.db.tables import payments

    with engine.connect() as conn:
        return list(conn.execute(select(payments).where(payments.c.order_id == order_id)))


def test_order_pay_url_simulator_pay_paid(server: Server, shop_rows: Any, buyer: Any) -> None:
    engine, sku_id = shop_rows
    token, _ = buyer
    order = place_order(server, buyer, sku_id)
    order_id = order["order_id"]
    assert order["payment_amount"] == "3999.00"

    page = open_cashier(server, buyer, order_id)
    assert order_id in page
    assert "¥3999.00" in page

    status, headers, _ = press(server, order_id, "pay")
    assert status == 302

    # the simulator's notify reached the app before the browser was redirected
    detail = server.json("GET", f"/orders/{order_id}/", None, token)
    assert (detail["status"], detail["status_name"]) == (2, "待发货")
    (payment,) = payment_rows(engine, order_id)
    assert (payment.amount, payment.status) == (399900, "paid")
    assert payment.notify_id  # recorded from the notify, not from a trade.query
    # the return URL verifies and shows the paid order (no FRONTEND_URL here)
    location = headers["Location"]
    assert location.startswith(f"http://127.0.0.1:{server.port}/payments/alipay/return/?")
    returned = server.json("GET", location)
    assert returned == {"order_id": order_id, "status": 2, "status_name": "待发货"}
    assert server.json("GET", f"/orders/{order_id}/payment/status/", None, token)["status"] == 2

    # ten concurrent copies of Alipay's notify: all answered success, nothing added
    from chalicelib.adapters import alipay_simulator
    from chalicelib.adapters.alipay import simulator_keys

    keys = simulator_keys(Path(server.env["SHOP_VAR_DIR"]))
    trade = {
        "out_trade_no": order_id,
        "trade_no": payment.trade_no,
        "total_amount": "3999.00",
        "subject": f"家电之选订单 {order_id}",
        "gmt_create": "2024-05-01 12:00:00",
        "gmt_payment": "2024-05-01 12:00:05",
        "notify_id": payment.notify_id,
    }
    # signed as the simulator signs (both processes use the local default ALIPAY_APP_ID)
    form = urlencode(alipay_simulator.notify_params(trade, keys))

    def notify(_: int) -> bytes:
        return server.call(
            "POST",
            "/payments/alipay/notify/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )[2]

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(notify, range(10))) == [b"success"] * 10
    assert len(payment_rows(engine, order_id)) == 1


def test_query_and_close_against_the_simulator(
    server: Server, shop_rows: Any, buyer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from chalicelib.clock import utcnow
    from chalicelib.db.tables import orders, skus

    engine, sku_id = shop_rows
    token, _ = buyer

    # an order whose cashier was opened but never paid: trade.query says WAIT_BUYER_PAY
    waiting = place_order(server, buyer, sku_id)["order_id"]
    open_cashier(server, buyer, waiting)
    assert server.json("GET", f"/orders/{waiting}/payment/status/", None, token)["status"] == 1

    # it expires; the reconcile job closes the trade at the simulator, then cancels
    past = utcnow() - timedelta(minutes=40)
    with engine.begin() as conn:
        stock_before = conn.scalar(skus.select().with_only_columns(skus.c.stock))
        conn.execute(
            update(orders)
            .where(orders.c.order_id == waiting)
            .values(create_time=past, expires_at=past + timedelta(minutes=30))
        )
    job = subprocess.run(
        [sys.executable, "manage.py", "runjob", "expire-orders"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert job.returncode == 0, job.stderr
    assert re.search(r"1 unpaid orders cancelled, 0 paid at Alipay", job.stdout), job.stdout
    detail = server.json("GET", f"/orders/{waiting}/", None, token)
    assert detail["status"] == 6
    with engine.connect() as conn:
        assert conn.scalar(skus.select().with_only_columns(skus.c.stock)) == stock_before + 1
    # the closed trade can no longer be paid
    status, _, page = press(server, waiting, "pay")
    assert status == 409
    assert "TRADE_CLOSED" in page.decode()

    # the app's own client against the simulator: query and close a paid trade
    monkeypatch.setenv("SHOP_VAR_DIR", server.env["SHOP_VAR_DIR"])
    monkeypatch.setenv("PORT", str(server.port))
    monkeypatch.delenv("ALIPAY_GATEWAY", raising=False)
    from chalicelib import resources
    from chalicelib.adapters.alipay import CloseOutcome

    alipay = resources.alipay()
    assert alipay.gateway == f"http://127.0.0.1:{server.port}/alipay-sim/gateway/"
    closed = alipay.query_trade(waiting)
    assert closed is not None and closed.trade_status == "TRADE_CLOSED"
    paid = place_order(server, buyer, sku_id)["order_id"]
    open_cashier(server, buyer, paid)
    assert press(server, paid, "pay")[0] == 302
    trade = alipay.query_trade(paid)
    assert trade is not None and trade.is_paid and trade.total_amount == "3999.00"
    assert alipay.close_trade(paid) is CloseOutcome.PAID
    assert alipay.close_trade("20990101000000000000000000000005") is CloseOutcome.NOT_FOUND


def pay_at_the_simulator(server: Server, buyer: Any, sku_id: int) -> str:
    order_id = place_order(server, buyer, sku_id)["order_id"]
    open_cashier(server, buyer, order_id)
    assert press(server, order_id, "pay")[0] == 302
    token, _ = buyer
    assert server.json("GET", f"/orders/{order_id}/", None, token)["status"] == 2
    return order_id


def test_pay_then_cancel_refunds_at_the_simulator(
    server: Server, shop_rows: Any, buyer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from chalicelib.db.tables import skus

    engine, sku_id = shop_rows
    token, _ = buyer
    order_id = pay_at_the_simulator(server, buyer, sku_id)
    with engine.connect() as conn:
        stock_before = conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id))

    # the buyer cancels the paid order: refunded at the simulator, cancelled, stock back
    cancelled = server.json("POST", f"/orders/{order_id}/cancel/", None, token)

    assert cancelled["status"] == 6
    (refund,) = cancelled["refunds"]
    assert (refund["amount"], refund["status"]) == ("3999.00", "succeeded")
    with engine.connect() as conn:
        assert conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id)) == stock_before + 1
    # the app's own client asks the server's simulator: that refund, under our number
    monkeypatch.setenv("SHOP_VAR_DIR", server.env["SHOP_VAR_DIR"])
    monkeypatch.setenv("PORT", str(server.port))
    monkeypatch.delenv("ALIPAY_GATEWAY", raising=False)
    from chalicelib import resources

    answer = resources.alipay().query_refund(
        out_trade_no=order_id, out_request_no=refund["refund_no"]
    )
    assert (answer.state, answer.raw["refund_amount"]) == ("succeeded", "3999.00")


def test_a_refund_whose_answer_is_lost_is_settled_by_the_reconcile_job(
    server: Server, shop_rows: Any, buyer: Any
) -> None:
    from sqlalchemy import update

    from chalicelib.clock import utcnow
    from chalicelib.db.tables import refunds

    engine, sku_id = shop_rows
    token, _ = buyer
    order_id = pay_at_the_simulator(server, buyer, sku_id)

    # the simulator is told to answer the next refund only after the app gave up
    assert server.call("POST", "/alipay-sim/faults/refund-timeout/", "")[0] == 204
    pending = server.json("POST", f"/orders/{order_id}/cancel/", None, token)

    assert pending["status"] == 2  # paid still: the refund's answer was lost
    ((refund_no, status),) = [(r["refund_no"], r["status"]) for r in pending["refunds"]]
    assert status == "pending"
    # cancelling again asks nothing more
    assert (
        server.json("POST", f"/orders/{order_id}/cancel/", None, token)["refunds"]
        == (pending["refunds"])
    )

    # the reconcile job (Alipay is asked about a refund 10 s after it, at the soonest)
    with engine.begin() as conn:
        conn.execute(
            update(refunds)
            .where(refunds.c.refund_no == refund_no)
            .values(update_time=utcnow() - timedelta(minutes=1))
        )
    job = subprocess.run(
        [sys.executable, "manage.py", "runjob", "reconcile-payments"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert job.returncode == 0, job.stderr
    assert "1 of 1 pending refunds checked: 1 settled" in job.stdout, job.stdout

    detail = server.json("GET", f"/orders/{order_id}/", None, token)
    assert detail["status"] == 6
    assert [(r["refund_no"], r["status"]) for r in detail["refunds"]] == [(refund_no, "succeeded")]
