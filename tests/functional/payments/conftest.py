"""Fixtures for the payment tests: real RSA2 keys, a fake Alipay gateway, orders as rows.

Orders are written straight into the tables with `make_order` (the payment rules do not
depend on how an order was placed); `shop.snapshot()` reads back everything a payment
may change, so error paths can assert that nothing did.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.fakes.alipay import FakeAlipay, KeyPair

APP_ID = "2021004100000001"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
PRICE = 599900  # 5999.00


@pytest.fixture(scope="session")
def key_pairs() -> SimpleNamespace:
    return SimpleNamespace(
        app=KeyPair.generate(), alipay=KeyPair.generate(), wrong=KeyPair.generate()
    )


@pytest.fixture
def fake_alipay(
    key_pairs: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeAlipay]:
    """Alipay as configured on AWS: a gateway URL, the app's private key, Alipay's public key
    (pasted as bare base64, the way Alipay's console shows it)."""
    fake = FakeAlipay(
        app_id=APP_ID,
        app_keys=key_pairs.app,
        alipay_keys=key_pairs.alipay,
        wrong_keys=key_pairs.wrong,
    ).serve()
    monkeypatch.setenv("ALIPAY_APP_ID", APP_ID)
    monkeypatch.setenv("ALIPAY_GATEWAY", fake.url)
    monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", key_pairs.app.private_pem)
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", key_pairs.alipay.public_base64)
    yield fake
    fake.stop()


def post_notify(client: Any, fields: dict[str, str], content_type: str = FORM) -> Any:
    return client.http.post(
        "/payments/alipay/notify/", body=urlencode(fields), headers={"Content-Type": content_type}
    )


@pytest.fixture
def make_sku(make_sku: Any) -> Any:
    """SKUs of 5999.00 (orders take their SKU's price), unless told otherwise."""
    return functools.partial(make_sku, price=PRICE)


@dataclass
class Shop:
    """Reads back the rows a payment may change."""

    db: Any

    def snapshot(self, order_id: str, sku_id: int | None = None) -> dict[str, Any]:
        """Everything a payment may change, for "nothing changed" assertions."""
        from chalicelib.db.tables import order_status_history, orders, payments, skus

        with self.db.connect() as conn:
            order = conn.execute(select(orders).where(orders.c.order_id == order_id)).one()
            return {
                "status": order.status,
                "needs_refund": bool(order.needs_refund),
                "paid_at": order.paid_at,
                "payments": [
                    (p.order_id, p.trade_no, p.amount, p.status)
                    for p in conn.execute(select(payments).order_by(payments.c.id))
                ],
                "history": [
                    (h.from_status, h.to_status, h.actor)
                    for h in conn.execute(
                        select(order_status_history)
                        .where(order_status_history.c.order_id == order_id)
                        .order_by(order_status_history.c.id)
                    )
                ],
                "stock": None
                if sku_id is None
                else conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id)),
            }


@pytest.fixture
def shop(db: Any) -> Shop:
    return Shop(db)
