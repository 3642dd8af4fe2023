"""The pages that grow with the shop are read through an index on real MariaDB, not by
sorting the whole table (SQLite's planner is not the one that runs in production)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from chalicelib.clock import utcnow
from chalicelib.db.engine import engine, transaction
from chalicelib.pagination import PageRequest
from chalicelib.services import admin_skus, orders, staff
from tests import factories

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="query plans of the production database need a real MariaDB (TEST_DATABASE_URL)",
)


def _explain(conn: Any, statement: str, parameters: Any) -> list[dict[str, Any]]:
    if statement.startswith("SET STATEMENT"):  # the request statement timeout's prefix
        statement = statement.split(" FOR ", 1)[1]
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.execute("EXPLAIN " + statement, parameters)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def test_the_admin_order_list_walks_the_newest_first_index(database_url: str) -> None:
    # given 1,000 orders of 50 buyers, a second apart
    started = utcnow() - timedelta(days=1)
    with transaction() as conn:
        buyers = [factories.user(conn) for _ in range(50)]
        for n in range(1000):
            factories.order(conn, buyers[n % 50], create_time=started + timedelta(seconds=n))
    sent: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY orders.create_time DESC" in statement:
            sent.append((statement, parameters))

    # when the console's order list reads its first page
    event.listen(engine(), "before_cursor_execute", remember)
    try:
        with transaction() as conn:
            page, count = orders.page(conn, PageRequest(page=1, pagesize=10))
    finally:
        event.remove(engine(), "before_cursor_execute", remember)

    # then the page is the 10 newest, read in index order: no full scan, no sort
    assert count == 1000
    assert [detail.order.create_time for detail in page] == [
        started + timedelta(seconds=n) for n in range(999, 989, -1)
    ]
    assert len(sent) == 1
    with engine().connect() as conn:
        conn.execute(text("ANALYZE TABLE orders"))
        plan = _explain(conn, *sent[0])
    assert [step["table"] for step in plan] == ["orders", "users"]
    assert plan[0]["key"] == "ix_orders_create_time_order_id"
    assert "filesort" not in (plan[0]["Extra"] or "")


def test_the_admin_sku_list_walks_the_skus_by_id(database_url: str) -> None:
    # given 400 SKUs in 40 leaf categories
    with transaction() as conn:
        leaves = [factories.third_level_category(conn) for _ in range(40)]
        ids = [factories.sku(conn, category_id=leaves[n % 40]) for n in range(400)]
    sent: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY skus.id" in statement:
            sent.append((statement, parameters))

    # when the console's SKU list reads its first page
    event.listen(engine(), "before_cursor_execute", remember)
    try:
        with transaction() as conn:
            rows, count = admin_skus.page_skus(conn, keyword="", page=PageRequest(1, 10))
    finally:
        event.remove(engine(), "before_cursor_execute", remember)

    # then the page is the 10 first by id, read from the SKUs' primary key with no sort
    # (page_of reads the listed table first: with statistics stale after a bulk load,
    # MariaDB read the categories first and sorted every SKU, bench/RESULTS.md per_request)
    assert count == 400
    assert [row.id for row in rows] == sorted(ids)[:10]
    assert len(sent) == 1
    with engine().connect() as conn:
        conn.execute(text("ANALYZE TABLE skus, categories"))
        plan = _explain(conn, *sent[0])
    assert [step["table"] for step in plan] == ["skus", "categories"]
    assert plan[0]["key"] == "PRIMARY"
    assert "filesort" not in (plan[0]["Extra"] or "")


def test_the_staff_list_and_its_count_read_a_range_of_the_staff_index(database_url: str) -> None:
    # given 2,000 buyers, then 3 staff users (the newest ids)
    with transaction() as conn:
        for _ in range(2000):
            factories.user(conn)
        staff_ids = [factories.user(conn, is_staff=True) for _ in range(3)]
    sent: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "is_staff" in statement:
            sent.append((statement, parameters))

    # when the console's staff list reads its first page
    event.listen(engine(), "before_cursor_execute", remember)
    try:
        with transaction() as conn:
            rows, count = staff.page_staff(conn, PageRequest(1, 10))
    finally:
        event.remove(engine(), "before_cursor_execute", remember)

    # then the page and the count each read the 3 staff entries of ix_users_is_staff_id,
    # not the 2,003 users, and nothing is sorted
    assert (count, [row.id for row in rows]) == (3, staff_ids)
    assert len(sent) == 2
    with engine().connect() as conn:
        conn.execute(text("ANALYZE TABLE users"))
        plans = [_explain(conn, *statement) for statement in sent]
    for plan in plans:
        assert [(step["table"], step["key"]) for step in plan] == [
            ("users", "ix_users_is_staff_id")
        ]
        assert int(plan[0]["rows"]) <= 10
        assert "filesort" not in (plan[0]["Extra"] or "")
