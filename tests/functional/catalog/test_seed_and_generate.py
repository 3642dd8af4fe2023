"""The demo shop loader and the bulk generator, on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.clock import utcnow
from chalicelib.db.tables import (
    banners,
    categories,
    order_lines,
    orders,
    sku_images,
    sku_specs,
    skus,
    spus,
    users,
)
from devtools import demo, generate
from tests.functional.catalog.conftest import detach_categories

TABLES = (users, categories, spus, skus, sku_specs, sku_images, banners, orders, order_lines)


@pytest.fixture
def empty_shop(database_url: str) -> Iterator[None]:
    yield
    detach_categories()


def counts(db: Any) -> dict[str, int]:
    with db.begin() as conn:
        return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


def test_demo_seed_builds_the_shop_once(empty_shop: None, db: Any, client: Any) -> None:
    first = demo.seed()
    after_first = counts(db)
    assert "192 new SKUs" in first
    assert after_first["categories"] == 43
    assert after_first["spus"] >= 40 and after_first["skus"] >= 150
    assert after_first["banners"] == 5
    assert after_first["sku_specs"] == 2 * after_first["skus"]
    assert after_first["sku_images"] == 2 * after_first["skus"]

    second = demo.seed()
    assert counts(db) == after_first
    assert "0 new SPUs, 0 new SKUs, 0 new banners, 0 images drawn" in second

    with db.begin() as conn:
        sku = conn.execute(select(skus).order_by(skus.c.id).limit(1)).one()
    response = client.http.get(f"/media/{sku.default_image}", headers={"Accept": "image/jpeg"})
    assert response.status_code == 200
    assert response.body[:3] == b"\xff\xd8\xff"  # a JPEG drawn by Pillow
    home = client.http.get("/home/")
    assert home.status_code == 200


def test_generator_rows_are_consistent(empty_shop: None, db: Any) -> None:
    summary = generate.generate(users=40, skus=60, orders=150, seed=7)
    assert summary.startswith("generated 40 users, 60 skus, 150 orders")
    now = utcnow()
    with db.begin() as conn:
        user_rows = conn.execute(select(users)).all()
        order_rows = conn.execute(select(orders)).all()
        line_rows = conn.execute(select(order_lines)).all()
        sku_rows = {r.id: r for r in conn.execute(select(skus)).all()}
        leaf_names = set(
            conn.scalars(select(categories.c.name).where(categories.c.parent_id.is_not(None)))
        )
        sku_categories = set(
            conn.scalars(
                select(categories.c.name).join(skus, skus.c.category_id == categories.c.id)
            )
        )
    assert len(user_rows) == 40 and len(sku_rows) == 60 and len(order_rows) == 150
    assert sku_categories <= leaf_names
    joined = {u.id: u.date_joined for u in user_rows}
    for user in user_rows:
        assert now - timedelta(days=60, minutes=1) <= user.date_joined <= now
        assert user.last_login is None or user.date_joined <= user.last_login <= now
        assert 5 <= len(user.username) <= 20
    lines_by_order: dict[str, list[Any]] = {}
    for line in line_rows:
        lines_by_order.setdefault(line.order_id, []).append(line)
        assert sku_rows[line.sku_id].is_launched
        assert (line.name, line.price) == (sku_rows[line.sku_id].name, sku_rows[line.sku_id].price)
    for order in order_rows:
        lines = lines_by_order[order.order_id]
        assert 1 <= len(lines) <= 3
        assert order.total_count == sum(line.count for line in lines)
        assert order.total_amount == sum(line.price * line.count for line in lines)
        assert order.payment_amount == order.total_amount + order.freight
        assert joined[order.user_id] <= order.create_time <= now
        assert order.status in range(1, 7)
        if order.status == 1:
            assert order.expires_at > now  # unpaid only within the payment timeout
        assert (order.paid_at is not None) == (2 <= order.status <= 5)
        assert any(line.commented_at for line in lines) <= (order.status == 5)


def test_generator_adds_orders_for_existing_users_and_skus(empty_shop: None, db: Any) -> None:
    generate.generate(users=10, skus=10, orders=20, seed=1)
    generate.generate(users=0, skus=0, orders=30, seed=2)
    assert counts(db)["orders"] == 50


def test_generator_needs_someone_to_order(empty_shop: None) -> None:
    with pytest.raises(ValueError, match="orders need users"):
        generate.generate(users=0, skus=0, orders=5)
