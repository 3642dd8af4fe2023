"""A small, exactly known catalogue for the catalogue tests.

大家电 > 冰箱 > 冰箱 (3 launched SKUs of one 海尔 SPU + 1 unlaunched), 大家电 > 洗衣机 >
洗衣机 (2 SKUs of a 小天鹅 SPU), 厨房小电 > 电饭煲 > 电饭煲 (1 SKU of an SPU without a
brand), and an empty top-level category 个护健康. Prices, sales, comment counts and
creation times all differ, so every ordering has one right answer. Two channel groups
(家电: 厨房小电 before 大家电 by sequence; 个护: 个护健康) and an empty third.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.db.engine import insert_id, transaction
from chalicelib.db.tables import banners, categories, sku_images
from tests import factories

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@dataclass
class Catalogue:
    categories: dict[str, int] = field(default_factory=dict)
    spus: dict[str, int] = field(default_factory=dict)
    brands: dict[str, int] = field(default_factory=dict)
    channel_groups: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    skus: dict[str, int] = field(default_factory=dict)
    banners: dict[str, int] = field(default_factory=dict)


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
        for name, parent, order in (
            ("大家电", None, 1),
            ("厨房小电", None, 2),
            ("个护健康", None, 3),
            ("冰箱", "大家电", 1),
            ("洗衣机", "大家电", 2),
            ("电饭煲", "厨房小电", 1),
        ):
            c.categories[name] = factories.category(
                conn, name, parent_id=c.categories[parent] if parent else None, sort_order=order
            )
            if parent:  # a third level of the same name, where SPUs and SKUs are filed
                c.categories[f"{name}(2)"] = c.categories[name]
                c.categories[name] = factories.category(
                    conn, name, parent_id=c.categories[name], sort_order=order
                )
        c.brands["haier"] = factories.brand(conn, "海尔", logo="cc/haier.png", first_letter="H")
        c.brands["swan"] = factories.brand(conn, "小天鹅", first_letter="X")
        for key, name, category, brand in (
            ("haier", "海尔十字对开门冰箱", "冰箱", c.brands["haier"]),
            ("swan", "小天鹅滚筒洗衣机", "洗衣机", c.brands["swan"]),
            ("midea", "美的电饭煲", "电饭煲", None),
        ):
            c.spus[key] = factories.spu(
                conn,
                name,
                category_id=c.categories[category],
                brand_id=brand,
                desc_detail=f"<p>{name}的介绍</p>",
                desc_pack="<ul><li>主机×1</li></ul>",
                desc_service="<p>全国联保</p>",
                create_time=T0,
            )
        for group in ("家电", "个护", "空组"):
            c.channel_groups[group] = factories.channel_group(conn, group)
        for group, category, sequence in (
            ("家电", "大家电", 2),
            ("家电", "厨房小电", 1),
            ("个护", "个护健康", 1),
        ):
            c.channels[category] = factories.channel(
                conn, c.channel_groups[group], c.categories[category], sequence=sequence
            )
        rows: list[tuple[str, str, dict[str, Any]]] = [
            (
                "fridge_silver",
                "haier",
                dict(
                    price=599900,
                    sales=120,
                    comments=30,
                    create_time=T0 + timedelta(days=1),
                    caption="一级能效 风冷无霜",
                    default_image="aa/fridge-silver.jpg",
                    specs={"颜色": "星蕴银", "容量": "470升"},
                ),
            ),
            (
                "fridge_grey",
                "haier",
                dict(
                    price=649900,
                    sales=80,
                    comments=50,
                    create_time=T0 + timedelta(days=2),
                    caption="净味保鲜",
                    specs={"颜色": "玄青灰", "容量": "470升"},
                ),
            ),
            (
                "fridge_big",
                "haier",
                dict(
                    price=799900,
                    sales=10,
                    comments=5,
                    create_time=T0 + timedelta(days=3),
                    caption="大容量 Haier 100% 正品",
                    specs={"颜色": "星蕴银", "容量": "650升"},
                ),
            ),
            (
                "fridge_old",
                "haier",
                dict(
                    price=199900,
                    sales=999,
                    comments=999,
                    create_time=T0 + timedelta(days=9),
                    is_launched=False,
                    caption="旧款 冰箱",
                    specs={"颜色": "白色", "容量": "218升"},
                ),
            ),
            (
                "washer_10kg",
                "swan",
                dict(
                    price=329900,
                    sales=300,
                    comments=7,
                    create_time=T0 + timedelta(days=4),
                    caption="除菌除螨 配冰箱更省心",
                ),
            ),
            (
                "washer_8kg",
                "swan",
                dict(
                    price=249900,
                    sales=40,
                    comments=70,
                    create_time=T0 + timedelta(days=5),
                    caption="超薄平嵌",
                ),
            ),
            (
                "cooker",
                "midea",
                dict(
                    price=39900,
                    sales=500,
                    comments=200,
                    create_time=T0 + timedelta(days=6),
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
        for key, spu_key, values in rows:
            c.skus[key] = factories.sku(conn, spu_id=c.spus[spu_key], name=names[key], **values)
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
    # A superuser holds every permission (auth.permission_required).
    admin = make_user("staff_admin", is_staff=True, is_superuser=True)
    headers: dict[str, str] = auth_headers(admin)
    return headers
