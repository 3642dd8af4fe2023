"""Search through the term index returns exactly what a LIKE over every SKU returns.

Two oracles: a brute-force Python filter over the seeded rows (plain substring, ASCII
case folded: the data holds only ASCII and Chinese, where both databases' LIKE agree),
and, for characters the collations treat differently, the database's own LIKE run
over every SKU. Admin edits, the demo seed and the bulk generator must leave the index
holding exactly the terms of every SKU's current name and caption.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import and_, case, func, or_, select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import sku_search_terms, skus
from chalicelib.services.search_terms import sku_terms
from devtools import demo, generate
from tests import factories
from tests.conftest import post_json, put_json
from tests.functional.catalog.conftest import Catalogue, detach_categories

# (key, name, caption, sales, launched), added to the shared catalogue (which has 冰箱,
# 洗衣机, "100%_Pure", "O'Brien's_pick", "BCD-650", an unlaunched 冰箱 ...).
MORE_SKUS = [
    ("haier_470", "Haier/海尔 BCD-470WDPG 冰箱", "风冷无霜 一级能效", 300, True),
    ("cooker_x", "美的 MB-4012 电饭煲 X", "", 300, True),
    ("tv", "TCL 65英寸 电视 65T7E", "Mini LED 量子点 HDR", 42, True),
    ("aircon", "格力 KFR-35GW 空调", "新一级能效 变频 冰爽", 7, True),
    ("odd", "特价 50%_off 'Quote' \"双\" /斜杠\\", "a_b 100% 冰", 1, True),
    ("hidden_tv", "TCL 75英寸 电视 75T7E", "Mini LED 已下架", 999, False),
]

QUERIES = [
    "冰箱",
    "冰",
    "一级能效",
    "新一级",
    "海尔",
    "haier",
    "HAIER",
    "HaIeR",
    "bcd-4",
    "BCD-470",
    "BCD-6",
    "KFR-35",
    "-35",
    "mb-4012",
    "mini led",
    "Mini LED",
    "65t7e",
    "英寸 电视",
    "电视",
    "%",
    "%%",
    "_",
    "50%_",
    "100%",
    "a_b",
    "'",
    "'Quote'",
    '"',
    '"双"',
    "/",
    "\\",
    "/斜杠\\",
    "x",
    "X",
    "4",
    "双",
    "点",
    "e",
    "不存在的商品",
    "冰箱 冰箱",
]


@pytest.fixture
def shop(catalogue: Catalogue) -> Catalogue:
    with transaction() as conn:
        for offset, (key, name, caption, sales, launched) in enumerate(MORE_SKUS):
            catalogue.skus[key] = factories.sku(
                conn,
                spu_id=catalogue.spus["midea"],
                name=name,
                caption=caption,
                price=100000 + offset,
                sales=sales,
                is_launched=launched,
            )
    return catalogue


def search_all(client: Any, q: str) -> tuple[list[int], int]:
    response = client.http.get(f"/search/?q={quote(q)}&pagesize=100")
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    return [item["id"] for item in body["lists"]], body["count"]


def python_oracle(db: Any, q: str) -> list[int]:
    """Launched SKUs containing q (ASCII case folded), name matches first, then sales, id."""
    with db.begin() as conn:
        rows = conn.execute(
            select(skus.c.id, skus.c.name, skus.c.caption, skus.c.sales).where(skus.c.is_launched)
        ).all()
    wanted = q.lower()
    found = [
        (0 if wanted in row.name.lower() else 1, -row.sales, -row.id)
        for row in rows
        if wanted in row.name.lower() or wanted in row.caption.lower()
    ]
    return [-sku_id for _, _, sku_id in sorted(found)]


def like_oracle(db: Any, q: str) -> list[int]:
    """The database's own LIKE over every SKU, ranked as search ranks."""
    in_name = skus.c.name.contains(q, autoescape=True)
    with db.begin() as conn:
        return list(
            conn.scalars(
                select(skus.c.id)
                .where(
                    and_(
                        skus.c.is_launched,
                        or_(in_name, skus.c.caption.contains(q, autoescape=True)),
                    )
                )
                .order_by(case((in_name, 0), else_=1), skus.c.sales.desc(), skus.c.id.desc())
            )
        )


def stored_terms(db: Any) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    with db.begin() as conn:
        for row in conn.execute(select(sku_search_terms)):
            found.setdefault(row.sku_id, set()).add(row.term)
    return found


def derived_terms(db: Any) -> dict[int, set[str]]:
    with db.begin() as conn:
        rows = conn.execute(select(skus.c.id, skus.c.name, skus.c.caption)).all()
    return {row.id: sku_terms(row.name, row.caption) for row in rows}


@pytest.mark.parametrize("q", QUERIES)
def test_search_returns_exactly_the_like_matches_in_rank_order(
    client: Any, shop: Catalogue, db: Any, q: str
) -> None:
    expected = python_oracle(db, q)

    ids, count = search_all(client, q)

    assert ids == expected
    assert count == len(expected)
    assert ids == like_oracle(db, q)


def test_oracles_see_what_the_queries_are_about(shop: Catalogue, db: Any) -> None:
    """Guards the parametrized test against vacuous answers."""
    s = shop.skus
    assert python_oracle(db, "HaIeR") == [s["haier_470"], s["fridge_big"]]
    assert python_oracle(db, "x") == [s["cooker_x"]]  # the last character of a name
    assert python_oracle(db, "一级能效") == [s["haier_470"], s["fridge_silver"], s["aircon"]]
    assert python_oracle(db, "/斜杠\\") == [s["odd"]]
    assert python_oracle(db, "冰") == [
        s["haier_470"],
        s["fridge_silver"],
        s["fridge_grey"],
        s["fridge_big"],
        s["washer_10kg"],
        s["aircon"],
        s["odd"],
    ]  # names by sales (haier_470 ties washer_10kg's 300 but only its caption has 冰)
    assert python_oracle(db, "电视") == [s["tv"]]  # hidden_tv is unlaunched


@pytest.mark.parametrize("q", ["（GREE）", "(gree)", "Ｇ", "gree", "café", "CAFE", "É"])
def test_characters_the_collation_equates_match_as_like_does(
    client: Any, catalogue: Catalogue, db: Any, q: str
) -> None:
    with transaction() as conn:
        for name, caption in (("格力（GREE）空调", "Ｇ系列"), ("Café 咖啡机", "Été")):
            factories.sku(
                conn,
                spu_id=catalogue.spus["midea"],
                name=name,
                caption=caption,
                price=1000,
            )

    ids, count = search_all(client, q)

    assert ids == like_oracle(db, q)
    assert count == len(ids)


def test_ties_in_sales_go_to_the_newer_id(client: Any, shop: Catalogue) -> None:
    s = shop.skus
    # "BCD-470" and "MB-4012", both sold 300 times: the newer SKU first
    assert search_all(client, "-4") == ([s["cooker_x"], s["haier_470"]], 2)
    # captions only, by sales
    assert search_all(client, "能效") == ([s["haier_470"], s["fridge_silver"], s["aircon"]], 3)


def test_common_characters_and_tied_bigrams_take_other_paths_to_the_same_answer(
    client: Any, shop: Catalogue, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = importlib.import_module("chalicelib.services.search")
    monkeypatch.setattr(search, "ONE_CHARACTER_SCAN_FROM", 1)  # every character is common
    monkeypatch.setattr(search, "PROBE_LIMIT", 1)  # every bigram ties: the first is taken
    for q in ("冰", "x", "%", "HaIeR", "一级能效", "mini led", "不存在的商品"):
        ids, count = search_all(client, q)
        assert ids == python_oracle(db, q), q
        assert count == len(ids)


@pytest.mark.parametrize(
    ("q", "pagesize", "page", "expected_count", "expected_pages", "on_page"),
    [
        ("冰", 3, 3, 7, 3, 1),
        ("冰", 3, 4, 7, 3, 0),
        ("冰", 7, 2, 7, 1, 0),
        ("一级能效", 2, 2, 3, 2, 1),
        ("不存在的商品", 10, 2, 0, 1, 0),
    ],
)
def test_pages_and_counts_at_the_edges(
    client: Any,
    shop: Catalogue,
    q: str,
    pagesize: int,
    page: int,
    expected_count: int,
    expected_pages: int,
    on_page: int,
) -> None:
    response = client.http.get(f"/search/?q={quote(q)}&pagesize={pagesize}&page={page}")
    body = json.loads(response.body)
    assert (body["count"], body["pages"], len(body["lists"])) == (
        expected_count,
        expected_pages,
        on_page,
    )


# --- the index follows every write --------------------------------------------------


def test_admin_create_update_unlaunch_relaunch_and_delete_keep_the_index_exact(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any
) -> None:
    body = {
        "name": "松下 NR-EW45 冰箱",
        "caption": "微冻保鲜 Econavi",
        "price": "7999.00",
        "stock": 5,
        "category_id": catalogue.categories["冰箱"],
    }
    created = post_json(client, "/meiduo_admin/skus/", body, staff_headers)
    assert created.status_code == 201
    sku = json.loads(created.body)["id"]
    assert stored_terms(db) == derived_terms(db)
    assert search_all(client, "nr-ew")[0] == [sku]
    assert search_all(client, "econavi")[0] == [sku]

    body.update(name="松下 NP-TH1 洗碗机", caption="高温除菌")
    assert put_json(client, f"/meiduo_admin/skus/{sku}/", body, staff_headers).status_code == 200
    assert stored_terms(db) == derived_terms(db)
    assert search_all(client, "NR-EW") == ([], 0)
    assert search_all(client, "Econavi") == ([], 0)
    assert search_all(client, "np-th1") == ([sku], 1)
    assert search_all(client, "除菌") == ([catalogue.skus["washer_10kg"], sku], 2)  # by sales

    body["is_launched"] = False
    assert put_json(client, f"/meiduo_admin/skus/{sku}/", body, staff_headers).status_code == 200
    assert search_all(client, "NP-TH1") == ([], 0)
    assert search_all(client, "洗碗") == ([], 0)

    body["is_launched"] = True
    assert put_json(client, f"/meiduo_admin/skus/{sku}/", body, staff_headers).status_code == 200
    assert search_all(client, "NP-TH1") == ([sku], 1)
    assert search_all(client, "碗") == ([sku], 1)
    assert stored_terms(db) == derived_terms(db)

    # Deleted (unlaunched for good): out of search, its terms kept like any unlaunched SKU's.
    assert (
        client.http.delete(f"/meiduo_admin/skus/{sku}/", headers=staff_headers).status_code == 204
    )
    assert search_all(client, "NP-TH1") == ([], 0)
    assert stored_terms(db) == derived_terms(db)


def test_a_rejected_admin_update_leaves_the_index_alone(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any
) -> None:
    before = stored_terms(db)
    cooker = catalogue.skus["cooker"]
    body = {
        "name": "完全不同的名字",
        "price": "1.00",
        "stock": 1,
        "category_id": catalogue.categories["大家电"],  # not a leaf: 400
    }
    response = put_json(client, f"/meiduo_admin/skus/{cooker}/", body, staff_headers)
    assert response.status_code == 400
    assert stored_terms(db) == before
    assert search_all(client, "电饭煲") == ([cooker], 1)


@pytest.fixture
def empty_shop(database_url: str) -> Iterator[None]:
    yield
    detach_categories()


def test_demo_seed_and_generator_index_every_sku(empty_shop: None, client: Any, db: Any) -> None:
    demo.seed()
    generate.generate(users=0, skus=40, orders=0, seed=5)

    index = stored_terms(db)
    assert index == derived_terms(db)
    with db.begin() as conn:
        assert len(index) == conn.scalar(select(func.count()).select_from(skus)) == 232
        names = list(conn.scalars(select(skus.c.name).where(skus.c.is_launched)))
    for q in (names[0][:12], names[-1][-12:]):  # a demo SKU, a generated one
        ids, count = search_all(client, q)
        assert count >= 1
        assert ids == python_oracle(db, q)


def test_the_index_does_not_depend_on_the_launch_state(client: Any, catalogue: Catalogue) -> None:
    """Unlaunched SKUs keep their terms (search checks the row): relaunching needs no reindex."""
    with transaction() as conn:
        sku = factories.sku(
            conn,
            spu_id=catalogue.spus["midea"],
            name="苏泊尔 球釜 电饭煲",
            price=29900,
            is_launched=False,
        )
    assert search_all(client, "球釜") == ([], 0)
    with transaction() as conn:
        conn.execute(skus.update().where(skus.c.id == sku).values(is_launched=True))
    assert search_all(client, "球釜") == ([sku], 1)
