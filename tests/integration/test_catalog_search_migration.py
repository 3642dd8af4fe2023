"""Migration 0004 builds the search term index of the SKUs a shop already has."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, column, create_engine, func, inspect, select, table, text

from chalicelib.db.tables import UtcDateTime, categories, sku_search_terms, skus
from chalicelib.pagination import PageRequest
from chalicelib.services.search import search_skus
from chalicelib.services.search_terms import sku_terms
from tests.conftest import ROOT

SERVER = os.environ.get("TEST_DATABASE_URL")
SKU_COUNT = 5003  # more than one of the migration's 5,000-SKU slices


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the session's one is already at head)."""
    if not SERVER:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"shop_upgrade_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER)
    with server.begin() as conn:
        conn.execute(
            text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    try:
        yield SERVER.rstrip("/") + "/" + name + "?charset=utf8mb4"
    finally:
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = previous


def fill_catalogue(engine: Engine) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(categories.insert().values(id=1, name="冰箱"))
        # spus as it was at this revision (0008 changed its columns)
        old_spus = table(
            "spus",
            column("id"),
            column("name"),
            column("desc"),
            column("category_id"),
            column("create_time", UtcDateTime()),
        )
        conn.execute(
            old_spus.insert().values(id=1, name="冰箱", desc="", category_id=1, create_time=now)
        )
        conn.execute(
            skus.insert(),
            [
                {
                    "id": n,
                    "spu_id": 1,
                    "category_id": 1,
                    "name": f"Haier 冰箱 BCD-{n}" if n % 2 else f"美的 电饭煲 MB-{n}",
                    "caption": "" if n % 3 else f"一级能效 No.{n}",
                    "price": 100 + n,
                    "sales": n % 7,
                    "is_launched": n % 10 != 0,
                    "create_time": now,
                    "update_time": now,
                }
                for n in range(1, SKU_COUNT + 1)
            ],
        )


def test_upgrading_indexes_existing_skus_and_downgrading_drops_the_index(database: str) -> None:
    migrate(database, "0003")
    engine = create_engine(database)
    try:
        fill_catalogue(engine)

        migrate(database, "head")

        with engine.begin() as conn:
            stored: dict[int, set[str]] = {}
            for row in conn.execute(select(sku_search_terms)):
                stored.setdefault(row.sku_id, set()).add(row.term)
            rows = conn.execute(select(skus.c.id, skus.c.name, skus.c.caption)).all()
            assert stored == {row.id: sku_terms(row.name, row.caption) for row in rows}
            assert len(stored) == SKU_COUNT
            items, count = search_skus(conn, "bcd-5003", PageRequest(1, 10))
            assert ([item.id for item in items], count) == ([5003], 1)
            _, count = search_skus(conn, "No.", PageRequest(1, 10))
            launched_with_caption = sum(1 for n in range(3, SKU_COUNT + 1, 3) if n % 10)
            assert count == launched_with_caption

        migrate(database, "0003", down=True)
        assert "sku_search_terms" not in inspect(engine).get_table_names()
        with engine.begin() as conn:
            assert conn.scalar(select(func.count()).select_from(skus)) == SKU_COUNT
    finally:
        engine.dispose()
