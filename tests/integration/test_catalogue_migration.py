"""Migration 0008 moves a shop's catalogue to the console's model, nothing lost.

Given a database at 0007 holding the old shape (a two-level tree whose leaves hold SPUs
and SKUs, a top-level leaf, a category that got children after SKUs were filed under
it, SKUs with name/value specs, an SPU whose SKUs lack a spec some siblings have), when it
is upgraded to 0008, then every row is where the new model says, exactly; downgraded
again, the SPUs get their one category and description back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, column, create_engine, func, select, table

from chalicelib.db.tables import (
    UtcDateTime,
    categories,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
)
from chalicelib.services import catalog
from tests.integration.test_catalog_search_migration import database, migrate

__all__ = ["database"]  # the fixture: an empty database of the test's own

T0 = datetime(2024, 5, 1, tzinfo=UTC)

# The old name/value specs (0008 moves them to specifications and options and drops it).
sku_specs = table("sku_specs", column("id"), column("sku_id"), column("name"), column("value"))

# id, name, parent
OLD_CATEGORIES = [
    (1, "大家电", None),
    (2, "冰箱", 1),  # leaf: two SPUs
    (3, "洗衣机", 1),  # leaf: one SPU
    (4, "厨房小电", None),  # has a child, and an SPU filed under it from before
    (5, "电饭煲", 4),  # empty leaf
    (6, "个护健康", None),  # top-level leaf with an SPU
    (7, "生活电器", None),
    (8, "清洁", 7),
    (9, "吸尘器", 8),  # already third level
]
# id, name, category, desc
OLD_SPUS = [
    (1, "海尔冰箱", 2, "<p>海尔</p>"),
    (2, "美的冰箱", 2, "美的"),
    (3, "小天鹅洗衣机", 3, ""),
    (4, "飞利浦剃须刀", 6, "剃须"),
    (5, "戴森吸尘器", 9, "吸尘"),
    (6, "九阳厨房套装", 4, "套装"),
]
# id, spu, category, specs
OLD_SKUS: list[tuple[int, int, int, dict[str, str]]] = [
    (1, 1, 2, {"颜色": "星蕴银", "容量": "470升"}),
    (2, 1, 2, {"颜色": "玄青灰", "容量": "470升"}),
    (3, 1, 2, {"颜色": "星蕴银"}),  # lacks 容量, which its siblings have
    (4, 2, 2, {}),
    (5, 3, 3, {"容量": "10公斤", "颜色": "白色"}),
    (6, 3, 3, {"容量": "8公斤", "颜色": "白色"}),
    (7, 4, 6, {"颜色": "白色"}),  # 颜色/白色 again, of another SPU
    (8, 5, 9, {"功率": "500W"}),
    (9, 6, 4, {"套餐": "三件套"}),
]


def fill_old_catalogue(engine: Engine) -> None:
    # spus and skus as they were at 0007
    old_spus = table(
        "spus",
        column("id"),
        column("name"),
        column("desc"),
        column("category_id"),
        column("create_time", UtcDateTime()),
    )
    old_skus = table(
        "skus",
        *(column(name) for name in ("id", "spu_id", "category_id", "name", "price")),
        column("create_time", UtcDateTime()),
        column("update_time", UtcDateTime()),
    )
    with engine.begin() as conn:
        for category_id, name, parent in OLD_CATEGORIES:  # parents first
            conn.execute(categories.insert().values(id=category_id, name=name, parent_id=parent))
        conn.execute(
            old_spus.insert(),
            [
                {"id": i, "name": n, "category_id": c, "desc": d, "create_time": T0}
                for i, n, c, d in OLD_SPUS
            ],
        )
        conn.execute(
            old_skus.insert(),
            [
                {
                    "id": i,
                    "spu_id": spu,
                    "category_id": c,
                    "name": f"SKU {i}",
                    "price": 100 * i,
                    "create_time": T0,
                    "update_time": T0,
                }
                for i, spu, c, _ in OLD_SKUS
            ],
        )
        conn.execute(
            sku_specs.insert(),
            [
                {"sku_id": i, "name": name, "value": value}
                for i, _, _, specs in OLD_SKUS
                for name, value in specs.items()
            ],
        )


def count(conn: Any, t: Any) -> int:
    return int(conn.scalar(select(func.count()).select_from(t)))


def test_upgrading_moves_the_catalogue_to_three_levels_and_specifications(
    database: str,
) -> None:
    migrate(database, "0007")
    engine = create_engine(database)
    try:
        fill_old_catalogue(engine)

        migrate(database, "0008")

        with engine.begin() as conn:
            tree = conn.execute(
                select(categories.c.id, categories.c.name, categories.c.parent_id).order_by(
                    categories.c.id
                )
            ).all()
            # the leaves in id order, then the category that had SPUs and children
            assert [tuple(row) for row in tree] == [
                *OLD_CATEGORIES,
                (10, "冰箱", 2),
                (11, "洗衣机", 3),
                (12, "电饭煲", 5),
                (13, "个护健康", 6),
                (14, "个护健康", 13),
                (15, "厨房小电", 4),
                (16, "厨房小电", 15),
            ]
            assert conn.execute(
                select(skus.c.id, skus.c.spu_id, skus.c.category_id).order_by(skus.c.id)
            ).all() == [
                (1, 1, 10),
                (2, 1, 10),
                (3, 1, 10),
                (4, 2, 10),
                (5, 3, 11),
                (6, 3, 11),
                (7, 4, 14),
                (8, 5, 9),
                (9, 6, 16),
            ]
            assert [
                tuple(row)
                for row in conn.execute(
                    select(
                        spus.c.id,
                        spus.c.name,
                        spus.c.category1_id,
                        spus.c.category2_id,
                        spus.c.category3_id,
                        spus.c.desc_detail,
                        spus.c.desc_pack,
                        spus.c.desc_service,
                        spus.c.brand_id,
                        spus.c.is_deleted,
                    ).order_by(spus.c.id)
                )
            ] == [
                (1, "海尔冰箱", 1, 2, 10, "<p>海尔</p>", "", "", None, False),
                (2, "美的冰箱", 1, 2, 10, "美的", "", "", None, False),
                (3, "小天鹅洗衣机", 1, 3, 11, "", "", "", None, False),
                (4, "飞利浦剃须刀", 6, 13, 14, "剃须", "", "", None, False),
                (5, "戴森吸尘器", 7, 8, 9, "吸尘", "", "", None, False),
                (6, "九阳厨房套装", 4, 15, 16, "套装", "", "", None, False),
            ]

            # specifications and options per SPU, each once
            specs = conn.execute(
                select(spu_specs.c.spu_id, spu_specs.c.name, spec_options.c.value)
                .join(spec_options, spec_options.c.spec_id == spu_specs.c.id)
                .order_by(spu_specs.c.spu_id, spu_specs.c.id, spec_options.c.id)
            ).all()
            assert [tuple(row) for row in specs] == [
                (1, "颜色", "星蕴银"),
                (1, "颜色", "玄青灰"),
                (1, "容量", "470升"),
                (3, "容量", "10公斤"),
                (3, "容量", "8公斤"),
                (3, "颜色", "白色"),
                (4, "颜色", "白色"),
                (5, "功率", "500W"),
                (6, "套餐", "三件套"),
            ]
            assert (count(conn, spu_specs), count(conn, spec_options)) == (7, 9)

            # each SKU picks exactly its old values, of its own SPU's specifications
            picks = conn.execute(
                select(
                    sku_spec_options.c.sku_id,
                    spu_specs.c.spu_id,
                    spu_specs.c.name,
                    spec_options.c.value,
                    spec_options.c.spec_id,
                    sku_spec_options.c.spec_id.label("picked_spec"),
                )
                .join(spu_specs, spu_specs.c.id == sku_spec_options.c.spec_id)
                .join(spec_options, spec_options.c.id == sku_spec_options.c.option_id)
            ).all()
            picked: dict[int, dict[str, str]] = {}
            spu_of = {i: spu for i, spu, _, _ in OLD_SKUS}
            for row in picks:
                assert row.spu_id == spu_of[row.sku_id]
                assert row.spec_id == row.picked_spec  # the option is of that specification
                picked.setdefault(row.sku_id, {})[row.name] = row.value
            assert picked == {i: specs for i, _, _, specs in OLD_SKUS if specs}

            # nothing lost: a pick for each old spec row
            assert count(conn, sku_spec_options) == 12
            assert (count(conn, skus), count(conn, spus)) == (9, 6)

            # and the storefront reads them
            detail = catalog.sku_detail(conn, 3)
            assert detail["variants"] == [
                {"id": 1, "specs": {"颜色": "星蕴银", "容量": "470升"}},
                {"id": 2, "specs": {"颜色": "玄青灰", "容量": "470升"}},
                {"id": 3, "specs": {"颜色": "星蕴银"}},
            ]
            assert (detail["category"].name, detail["spu"].desc_detail) == ("冰箱", "<p>海尔</p>")

        migrate(database, "0007", down=True)

        with engine.begin() as conn:
            old_spus = table("spus", column("id"), column("category_id"), column("desc"))
            assert conn.execute(
                select(old_spus.c.id, old_spus.c.category_id, old_spus.c.desc).order_by(
                    old_spus.c.id
                )
            ).all() == [
                (1, 10, "<p>海尔</p>"),
                (2, 10, "美的"),
                (3, 11, ""),
                (4, 14, "剃须"),
                (5, 9, "吸尘"),
                (6, 16, "套装"),
            ]
            assert count(conn, sku_specs) == 12
    finally:
        engine.dispose()


def test_the_operators_migrate_moves_an_old_shop_too(database: str) -> None:
    """`manage.py migrate` and the migrate Lambda (upgrade_to_head, on a connection of
    their own) carry the same data over: on SQLite an outer transaction once made the
    foreign-key switch a no-op and the final check's rollback undid the whole upgrade."""
    from chalicelib.migrations import upgrade_to_head

    migrate(database, "0007")
    engine = create_engine(database)
    try:
        fill_old_catalogue(engine)

        before, after = upgrade_to_head(database)

        assert (before, after is not None and after >= "0008") == ("0007", True)
        with engine.begin() as conn:
            assert count(conn, sku_spec_options) == 12
            assert conn.execute(
                select(spus.c.id, spus.c.category3_id).order_by(spus.c.id)
            ).all() == [(1, 10), (2, 10), (3, 11), (4, 14), (5, 9), (6, 16)]
    finally:
        engine.dispose()
