"""Fixtures for the payment tests: real RSA2 keys, a fake Alipay gateway, orders as rows.

Orders are written straight into the tables (the payment rules do not depend on how an
order was placed); `snapshot()` reads back everything a payment may change, so error
paths can assert that nothing did.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.fakes.alipay import FakeAlipay, KeyPair

APP_ID = "2021004100000001"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


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


@dataclass
class Shop:
    """Catalogue and order rows written directly, as the orders area would leave them."""

    db: Any

    def sku(self, *, stock: int = 10, price: int = 599900) -> int:
        from chalicelib.clock import utcnow
        from chalicelib.db.tables import categories, skus, spus

        now = utcnow()
        with self.db.begin() as conn:
            category_id = conn.execute(
                categories.insert().values(name="空调")
            ).inserted_primary_key[0]
            spu_id = conn.execute(
                spus.insert().values(
                    name="格力空调", desc="", category_id=category_id, create_time=now
                )
            ).inserted_primary_key[0]
            return int(
                conn.execute(
                    skus.insert().values(
                        spu_id=spu_id,
                        category_id=category_id,
                        name="格力 1.5匹 变频空调",
                        price=price,
                        stock=stock,
                        create_time=now,
                        update_time=now,
                    )
                ).inserted_primary_key[0]
            )

    def order(
        self,
        user: Any,
        sku_id: int,
        *,
        count: int = 1,
        price: int = 599900,
        freight: int = 0,
        status: int = 1,
        pay_method: str = "alipay",
        expires_in: timedelta = timedelta(minutes=30),
        created_ago: timedelta = timedelta(minutes=0),
    ) -> str:
        from chalicelib.clock import utcnow
        from chalicelib.db.tables import order_lines, order_status_history, orders

        now = utcnow()
        order_id = now.strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**18):018d}"
        created = now - created_ago
        with self.db.begin() as conn:
            conn.execute(
                orders.insert().values(
                    order_id=order_id,
                    user_id=user.id,
                    receiver="张三",
                    province="广东省",
                    city="深圳市",
                    district="南山区",
                    place="科技园 1 号",
                    mobile="13800138000",
                    total_count=count,
                    total_amount=price * count,
                    freight=freight,
                    payment_amount=price * count + freight,
                    pay_method=pay_method,
                    status=status,
                    create_time=created,
                    update_time=created,
                    expires_at=created + expires_in,
                )
            )
            conn.execute(
                order_lines.insert().values(
                    order_id=order_id,
                    sku_id=sku_id,
                    name="格力 1.5匹 变频空调",
                    price=price,
                    count=count,
                )
            )
            conn.execute(
                order_status_history.insert().values(
                    order_id=order_id,
                    from_status=None,
                    to_status=1,
                    actor=f"user:{user.id}",
                    create_time=created,
                )
            )
        return order_id

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
