"""Admin lists run a fixed number of SQL statements however long the page: the names of
brands, categories, SPUs, specifications and groups are joined, never fetched per row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from chalicelib.db.engine import transaction
from chalicelib.db.tables import channels
from tests import factories

ROWS = 20
LISTS = [
    "/meiduo_admin/skus/",
    "/meiduo_admin/goods/",
    "/meiduo_admin/goods/specs/",
    "/meiduo_admin/specs/options/",
    "/meiduo_admin/goods/brands/",
    "/meiduo_admin/goods/channels/",
]


@pytest.fixture
def twenty_of_everything(database_url: str) -> None:
    with transaction() as conn:
        group = factories.channel_group(conn)
        for n in range(ROWS):
            brand = factories.brand(conn, logo=f"aa/logo{n}.png")
            leaf = factories.third_level_category(conn)
            spu = factories.spu(conn, category_id=leaf, brand_id=brand)
            spec = factories.spec(conn, spu)
            option = factories.option(conn, spec)
            sku = factories.sku(conn, spu_id=spu, sales=n, comments=n)
            factories.sku_choice(conn, sku, option)
            top = factories.category(conn)
            conn.execute(
                channels.insert().values(group_id=group, category_id=top, url=f"/{n}/", sequence=n)
            )


@pytest.fixture
def statements(db: Any) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db, "before_cursor_execute", record)
    yield seen
    event.remove(db, "before_cursor_execute", record)


@pytest.mark.parametrize("path", LISTS)
def test_a_page_of_20_costs_the_statements_of_a_page_of_2(
    client: Any,
    twenty_of_everything: None,
    make_user: Any,
    auth_headers: Any,
    statements: list[str],
    path: str,
) -> None:
    headers = auth_headers(make_user(is_staff=True, is_superuser=True))
    counts = {}
    for size in (2, ROWS):
        statements.clear()
        response = client.http.get(f"{path}?pagesize={size}", headers=headers)
        assert response.status_code == 200, response.body
        assert len(json.loads(response.body)["lists"]) == size
        counts[size] = len(statements)

    assert counts[2] == counts[ROWS], statements
