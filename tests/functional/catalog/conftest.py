"""A small, exactly known catalogue for the catalogue tests.

大家电 > 冰箱 (3 launched SKUs of one SPU + 1 unlaunched), 大家电 > 洗衣机 (2 SKUs),
厨房小电 > 电饭煲 (1 SKU), and an empty top-level category 个护健康. Prices, sales,
comment counts and creation times all differ, so every ordering has one right answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from chalicelib.db.engine import insert_id, transaction
from chalicelib.db.tables import banners, categories, sku_images, sku_specs, skus, spus
from chalicelib.services import search_terms

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@dataclass
class Catalogue:
    categories: dict[str, int] = field(default_factory=dict)
    spus: dict[str, int] = field(default_factory=dict)
    skus: dict[str, int] = field(default_factory=dict)
    banners: dict[str, int] = field(default_factory=dict)


def add_category(conn: Connection, name: str, parent_id: int | None = None, order: int = 0) -> int:
    return insert_id(
        conn.execute(categories.insert().values(name=name, parent_id=parent_id, sort_order=order))
    )


def add_spu(conn: Connection, name: str, category_id: int) -> int:
    return insert_id(
        conn.execute(
            spus.insert().values(
                name=name, desc=f"{name}的介绍", category_id=category_id, create_time=T0
            )
        )
    )


def add_sku(
    conn: Connection,
    *,
    spu_id: int,
    category_id: int,
    name: str,
    price: int,
    sales: int = 0,
    comments: int = 0,
    created: datetime = T0,
    caption: str = "",
    stock: int = 10,
    launched: bool = True,
    image: str | None = None,
    specs: dict[str, str] | None = None,
) -> int:
    sku_id = insert_id(
        conn.execute(
            skus.insert().values(
                spu_id=spu_id,
                category_id=category_id,
                name=name,
                caption=caption,
                price=price,
                stock=stock,
                sales=sales,
                comments=comments,
                is_launched=launched,
                default_image=image,
                create_time=created,
                update_time=created,
            )
        )
    )
    for spec_name, value in (specs or {}).items():
        conn.execute(sku_specs.insert().values(sku_id=sku_id, name=spec_name, value=value))
    search_terms.index_new_sku(conn, sku_id, name, caption)  # as every SKU write must
    return sku_id


def detach_categories() -> None:
    """Let the shared clean-up's `DELETE FROM categories` pass on MariaDB, which checks
    the parent_id self-reference row by row (SQLite checks at the statement's end)."""
    with transaction() as conn:
        conn.execute(categories.update().values(parent_id=None))


@pytest.fixture
def catalogue(database_url: str) -> Iterator[Catalogue]:
    yield build_catalogue()
    detach_categories()


def build_catalogue() -> Catalogue:
    c = Catalogue()
    with transaction() as conn:
        big = c.categories["大家电"] = add_category(conn, "大家电", order=1)
        kitchen = c.categories["厨房小电"] = add_category(conn, "厨房小电", order=2)
        c.categories["个护健康"] = add_category(conn, "个护健康", order=3)
        fridge = c.categories["冰箱"] = add_category(conn, "冰箱", big, order=1)
        washer = c.categories["洗衣机"] = add_category(conn, "洗衣机", big, order=2)
        cooker = c.categories["电饭煲"] = add_category(conn, "电饭煲", kitchen, order=1)
        c.spus["haier"] = add_spu(conn, "海尔十字对开门冰箱", fridge)
        c.spus["swan"] = add_spu(conn, "小天鹅滚筒洗衣机", washer)
        c.spus["midea"] = add_spu(conn, "美的电饭煲", cooker)
        rows: list[tuple[str, str, int, dict[str, Any]]] = [
            (
                "fridge_silver",
                "haier",
                fridge,
                dict(
                    price=599900,
                    sales=120,
                    comments=30,
                    created=T0 + timedelta(days=1),
                    caption="一级能效 风冷无霜",
                    image="aa/fridge-silver.jpg",
                    specs={"颜色": "星蕴银", "容量": "470升"},
                ),
            ),
            (
                "fridge_grey",
                "haier",
                fridge,
                dict(
                    price=649900,
                    sales=80,
                    comments=50,
                    created=T0 + timedelta(days=2),
                    caption="净味保鲜",
                    specs={"颜色": "玄青灰", "容量": "470升"},
                ),
            ),
            (
                "fridge_big",
                "haier",
                fridge,
                dict(
                    price=799900,
                    sales=10,
                    comments=5,
                    created=T0 + timedelta(days=3),
                    caption="大容量 Haier 100% 正品",
                    specs={"颜色": "星蕴银", "容量": "650升"},
                ),
            ),
            (
                "fridge_old",
                "haier",
                fridge,
                dict(
                    price=199900,
                    sales=999,
                    comments=999,
                    created=T0 + timedelta(days=9),
                    launched=False,
                    caption="旧款 冰箱",
                    specs={"颜色": "白色", "容量": "218升"},
                ),
            ),
            (
                "washer_10kg",
                "swan",
                washer,
                dict(
                    price=329900,
                    sales=300,
                    comments=7,
                    created=T0 + timedelta(days=4),
                    caption="除菌除螨 配冰箱更省心",
                ),
            ),
            (
                "washer_8kg",
                "swan",
                washer,
                dict(
                    price=249900,
                    sales=40,
                    comments=70,
                    created=T0 + timedelta(days=5),
                    caption="超薄平嵌",
                ),
            ),
            (
                "cooker",
                "midea",
                cooker,
                dict(
                    price=39900,
                    sales=500,
                    comments=200,
                    created=T0 + timedelta(days=6),
                    caption="IH电磁加热 O'Brien's_pick",
                ),
            ),
        ]
        names = {
            "fridge_silver": "海尔 470升 星蕴银 冰箱",
            "fridge_grey": "海尔 470升 玄青灰 冰箱",
            "fridge_big": "海尔 650升 星蕴银 冰箱 BCD-650",
            "fridge_old": "海尔 218升 冰箱 老款",
            "washer_10kg": "小天鹅 10公斤 滚筒洗衣机 100%_Pure",
            "washer_8kg": "小天鹅 8公斤 滚筒洗衣机",
            "cooker": "美的 4升 电饭煲",
        }
        for key, spu_key, category_id, values in rows:
            c.skus[key] = add_sku(
                conn, spu_id=c.spus[spu_key], category_id=category_id, name=names[key], **values
            )
        silver = c.skus["fridge_silver"]
        for image, hidden in (
            ("aa/front.jpg", False),
            ("aa/hidden.jpg", True),
            ("aa/side.jpg", False),
        ):
            conn.execute(
                sku_images.insert().values(
                    sku_id=silver, image=image, is_hidden=hidden, create_time=T0
                )
            )
        for title, image, sku_id, order, visible in (
            ("冰箱节", "bb/b1.jpg", silver, 2, True),
            ("开学季", "bb/b2.jpg", None, 1, True),
            ("旧款清仓", "bb/b3.jpg", c.skus["fridge_old"], 3, True),
            ("隐藏", "bb/b4.jpg", None, 0, False),
        ):
            c.banners[title] = insert_id(
                conn.execute(
                    banners.insert().values(
                        title=title,
                        image=image,
                        sku_id=sku_id,
                        sort_order=order,
                        is_visible=visible,
                    )
                )
            )
    return c


@pytest.fixture
def staff_headers(make_user: Any, auth_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = auth_headers(make_user("staff_admin", is_staff=True))
    return headers
