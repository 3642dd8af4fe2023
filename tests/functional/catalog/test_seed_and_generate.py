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
    brands,
    categories,
    channel_groups,
    channels,
    order_lines,
    orders,
    sku_images,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
    users,
)
from chalicelib.services import catalog
from devtools import catalog_words, demo, generate
from tests.functional.catalog.conftest import detach_categories

TABLES = (
    users,
    categories,
    brands,
    spus,
    spu_specs,
    spec_options,
    skus,
    sku_spec_options,
    sku_images,
    banners,
    channel_groups,
    channels,
    orders,
    order_lines,
)


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
    assert (
        "34 new brands, 48 new SPUs, 192 new SKUs, 5 new banners, 5 new channels, "
        "279 images drawn"  # 34 logos, a detail card per SPU, a card per SKU, 5 banners
    ) in first
    assert {
        name: after_first[name]
        for name in after_first
        if name not in ("users", "orders", "order_lines")
    } == {
        "categories": 43,
        "brands": 34,
        "spus": 48,
        "spu_specs": 96,  # two per SPU: its line's specs
        "spec_options": 259,  # every value of those specs
        "skus": 192,
        "sku_spec_options": 384,  # each SKU picks one option of each
        "sku_images": 384,
        "banners": 5,
        "channel_groups": 3,
        "channels": 5,
    }

    second = demo.seed()
    assert counts(db) == after_first
    assert (
        "0 new brands, 0 new SPUs, 0 new SKUs, 0 new banners, 0 new channels, 0 images drawn"
    ) in second

    with db.begin() as conn:
        sku = conn.execute(select(skus).order_by(skus.c.id).limit(1)).one()
    response = client.http.get(f"/media/{sku.default_image}", headers={"Accept": "image/jpeg"})
    assert response.status_code == 200
    assert response.body[:3] == b"\xff\xd8\xff"  # a JPEG drawn by Pillow
    home = client.http.get("/home/")
    assert home.status_code == 200


def test_demo_brands_specs_prices_and_channels_are_as_planned(
    empty_shop: None, db: Any, client: Any
) -> None:
    demo.seed()
    planned = {spu.name: spu for spu in demo.plan_catalogue()}
    with db.begin() as conn:
        brand_rows = {r.name: r for r in conn.execute(select(brands))}
        spu_rows = conn.execute(
            select(spus.c.id, spus.c.name, spus.c.desc_pack, brands.c.name.label("brand")).join(
                brands, brands.c.id == spus.c.brand_id
            )
        ).all()
        sku_rows = conn.execute(select(skus)).all()
        picks = catalog.picked_specs(conn, [r.id for r in sku_rows])
        options = {
            (r.spu_id, r.name): sorted(
                o.value
                for o in conn.execute(
                    select(spec_options.c.value).where(spec_options.c.spec_id == r.id)
                )
            )
            for r in conn.execute(select(spu_specs))
        }
        groups = conn.execute(
            select(
                channel_groups.c.name,
                categories.c.name.label("category"),
                channels.c.url,
                channels.c.category_id,
            )
            .join(channels, channels.c.group_id == channel_groups.c.id)
            .join(categories, categories.c.id == channels.c.category_id)
            .order_by(channel_groups.c.id, channels.c.sequence)
        ).all()

    # every brand of the product lines, with a logo and its Latin initial
    assert sorted(brand_rows) == sorted(chinese for chinese, _ in demo.all_brands())
    assert [
        brand_rows[n].first_letter for n in ("海尔", "小天鹅", "西门子", "352", "A.O.史密斯")
    ] == ["H", "L", "S", "S", "A"]
    assert all(row.logo and row.logo.endswith(".png") for row in brand_rows.values())
    logo = client.http.get(f"/media/{brand_rows['海尔'].logo}", headers={"Accept": "image/png"})
    assert (logo.status_code, logo.body[:8]) == (200, b"\x89PNG\r\n\x1a\n")

    # every SPU has its planned brand, its line's specifications with every value as an
    # option, and sanitized descriptions
    assert sorted(r.name for r in spu_rows) == sorted(planned)
    for row in spu_rows:
        spu = planned[row.name]
        assert row.brand == spu.brand[0]
        assert {name: values for (spu_id, name), values in options.items() if spu_id == row.id} == {
            name: sorted(values) for name, values in spu.line.specs
        }
        assert (
            row.desc_pack
            == f"<ul><li>{spu.line.noun}主机 ×1</li><li>说明书 ×1</li><li>保修卡 ×1</li></ul>"
        )

    # every SKU picks its planned specs, with cost and market prices around its price
    planned_skus = {sku.name: sku for spu in planned.values() for sku in spu.skus}
    assert sorted(r.name for r in sku_rows) == sorted(planned_skus)
    for row in sku_rows:
        assert picks[row.id] == dict(planned_skus[row.name].specs)
        assert (row.cost_price, row.market_price) == demo.prices_around(row.price)
        assert row.cost_price < row.price < row.market_price

    # channel groups of first-level categories, each linking to its list
    assert [(g.name, g.category) for g in groups] == [
        (name, category) for name, members in demo.DEMO_CHANNEL_GROUPS for category in members
    ]
    assert [g.url for g in groups] == [
        f"http://shop.example.com/list/{g.category_id}/" for g in groups
    ]
    assert sorted(g.category for g in groups) == sorted(catalog_words.TOP_CATEGORIES)

    # and the storefront shows them
    sku = sku_rows[0]
    detail = client.http.get(f"/skus/{sku.id}/").json_body
    spu_brand = planned[next(r.name for r in spu_rows if r.id == sku.spu_id)].brand[0]
    assert detail["brand"]["name"] == spu_brand
    assert detail["brand"]["logo"].endswith(brand_rows[spu_brand].logo)
    assert detail["specs"] == dict(planned_skus[sku.name].specs)
    menu = client.http.get("/channels/").json_body
    assert [(g["name"], [c["category"]["name"] for c in g["channels"]]) for g in menu] == [
        (name, list(members)) for name, members in demo.DEMO_CHANNEL_GROUPS
    ]


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


def test_generator_gives_every_spu_a_brand_specifications_and_every_sku_its_picks(
    empty_shop: None, db: Any
) -> None:
    generate.generate(users=0, skus=80, orders=0, seed=3)
    with db.begin() as conn:
        brand_names = dict(conn.execute(select(brands.c.id, brands.c.name)).all())
        spu_rows = {r.id: r for r in conn.execute(select(spus))}
        spec_rows = {r.id: r for r in conn.execute(select(spu_specs))}
        option_rows = {r.id: r for r in conn.execute(select(spec_options))}
        sku_rows = conn.execute(select(skus)).all()
        pick_rows = conn.execute(select(sku_spec_options)).all()
        leaf_names = dict(conn.execute(select(categories.c.id, categories.c.name)).all())
    table_counts = counts(db)
    lines = {line.category: line for line in catalog_words.PRODUCT_LINES}

    # the demo's brands and channels, made once
    assert sorted(brand_names.values()) == sorted(chinese for chinese, _ in demo.all_brands())
    assert (table_counts["channel_groups"], table_counts["channels"]) == (3, 5)
    assert table_counts["skus"] == 80

    # each SPU: a brand of its line, its line's two specifications, sanitized descriptions
    specs_of_spu: dict[int, dict[str, int]] = {}
    for spec in spec_rows.values():
        specs_of_spu.setdefault(spec.spu_id, {})[spec.name] = spec.id
    for spu in spu_rows.values():
        line = lines[leaf_names[spu.category3_id]]
        assert brand_names[spu.brand_id] in [chinese for chinese, _ in line.brands]
        assert sorted(specs_of_spu[spu.id]) == sorted(name for name, _ in line.specs)
        assert spu.desc_detail.startswith(f"<h3>{brand_names[spu.brand_id]}（")
    # options: values of their specification, each once, each picked by some SKU
    used = {pick.option_id for pick in pick_rows}
    assert set(option_rows) == used
    seen = [(o.spec_id, o.value) for o in option_rows.values()]
    assert len(seen) == len(set(seen))

    # each SKU picks one option of each of its SPU's specifications, named in its name
    picks: dict[int, dict[int, int]] = {}
    for pick in pick_rows:
        assert option_rows[pick.option_id].spec_id == pick.spec_id
        picks.setdefault(pick.sku_id, {})[pick.spec_id] = pick.option_id
    for sku in sku_rows:
        assert sorted(picks[sku.id]) == sorted(specs_of_spu[sku.spu_id].values())
        for option_id in picks[sku.id].values():
            assert option_rows[option_id].value in sku.name
        assert (sku.cost_price, sku.market_price) == demo.prices_around(sku.price)
    assert len(pick_rows) == 2 * len(sku_rows)


def test_generator_adds_orders_for_existing_users_and_skus(empty_shop: None, db: Any) -> None:
    generate.generate(users=10, skus=10, orders=20, seed=1)
    generate.generate(users=0, skus=0, orders=30, seed=2)
    assert counts(db)["orders"] == 50


def test_generator_needs_someone_to_order(empty_shop: None) -> None:
    with pytest.raises(ValueError, match="orders need users"):
        generate.generate(users=0, skus=0, orders=5)
