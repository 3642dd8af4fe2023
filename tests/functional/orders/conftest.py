"""Fixtures for the cart, checkout, orders and wallet tests: buyers with an address."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import (
    balance_records,
    order_lines,
    order_status_history,
    orders,
    skus,
    users,
)
from chalicelib.money import parse_yuan
from tests import factories


@dataclass
class Buyer:
    user: Any
    address_id: int
    headers: dict[str, str]

    @property
    def id(self) -> int:
        return int(self.user.id)


@pytest.fixture
def make_buyer(database_url: str, auth_headers: Any) -> Any:
    """make_buyer(balance="0.00") -> a registered user with one address and auth headers."""

    def _make(balance: str = "0.00", **user_kwargs: Any) -> Buyer:
        with transaction() as conn:
            user = factories.registered_user(conn, **user_kwargs)
            conn.execute(
                users.update().where(users.c.id == user.id).values(balance=parse_yuan(balance))
            )
            address_id = factories.address(conn, user.id)
        return Buyer(user, address_id, auth_headers(user))

    return _make


@pytest.fixture
def buyer(make_buyer: Any) -> Buyer:
    return make_buyer()


def add_to_cart(
    client: Any, buyer: Buyer, sku_id: int, count: int = 1, selected: bool = True
) -> Any:
    response = client.http.post(
        "/cart/",
        body=json.dumps({"sku_id": sku_id, "count": count, "selected": selected}),
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.body
    return response


def place_order(client: Any, buyer: Buyer, pay_method: str = "balance", **headers: str) -> Any:
    return client.http.post(
        "/orders/",
        body=json.dumps({"address_id": buyer.address_id, "pay_method": pay_method}),
        headers={**buyer.headers, **headers},
    )


def stock_and_sales(sku_id: int) -> tuple[int, int]:
    with transaction() as conn:
        row = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)).one()
    return int(row.stock), int(row.sales)


def balance_of(user_id: int) -> int:
    with transaction() as conn:
        return int(conn.scalar(select(users.c.balance).where(users.c.id == user_id)) or 0)


def row_counts() -> dict[str, int]:
    """How many orders, lines, history rows and ledger rows exist."""
    with transaction() as conn:
        return {
            table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in (orders, order_lines, order_status_history, balance_records)
        }


def cart_of(redis: Any, user_id: int) -> tuple[dict[str, str], set[str]]:
    return redis.hgetall(f"cart:{user_id}"), redis.smembers(f"cart:{user_id}:selected")
