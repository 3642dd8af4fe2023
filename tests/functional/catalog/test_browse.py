"""Categories, SKU lists, SKU detail and comments, as a shopper sees them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib import config
from chalicelib.clock import shop_today
from chalicelib.db.engine import transaction
from chalicelib.db.tables import order_lines
from tests import factories
from tests.functional.catalog.conftest import T0, Catalogue

LAUNCHED = ["fridge_silver", "fridge_grey", "fridge_big", "washer_10kg", "washer_8kg", "cooker"]


def get(client: Any, path: str) -> tuple[int, Any]:
    response = client.http.get(path)
    return response.status_code, json.loads(response.body) if response.body else None


def names_of(catalogue: Catalogue, body: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in catalogue.skus.items()}
    return [by_id[item["id"]] for item in body["lists"]]


def test_categories_are_a_three_level_tree_in_sort_order(client: Any, catalogue: Catalogue) -> None:
    status, body = get(client, "/categories/")
    c = catalogue.categories

    def leaf(name: str) -> dict[str, Any]:
        return {"id": c[name], "name": name, "children": []}

    assert status == 200
    assert body == [
        {
            "id": c["大家电"],
            "name": "大家电",
            "children": [
                {"id": c["冰箱(2)"], "name": "冰箱", "children": [leaf("冰箱")]},
                {"id": c["洗衣机(2)"], "name": "洗衣机", "children": [leaf("洗衣机")]},
            ],
        },
        {
            "id": c["厨房小电"],
            "name": "厨房小电",
            "children": [{"id": c["电饭煲(2)"], "name": "电饭煲", "children": [leaf("电饭煲")]}],
        },
        {"id": c["个护健康"], "name": "个护健康", "children": []},
    ]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (
            "price",
            ["cooker", "washer_8kg", "washer_10kg", "fridge_silver", "fridge_grey", "fridge_big"],
        ),
        (
            "-price",
            ["fridge_big", "fridge_grey", "fridge_silver", "washer_10kg", "washer_8kg", "cooker"],
        ),
        (
            "-sales",
            ["cooker", "washer_10kg", "fridge_silver", "fridge_grey", "washer_8kg", "fridge_big"],
        ),
        (
            "-create_time",
            ["cooker", "washer_8kg", "washer_10kg", "fridge_big", "fridge_grey", "fridge_silver"],
        ),
        (
            "-comments",
            ["cooker", "washer_8kg", "fridge_grey", "fridge_silver", "washer_10kg", "fridge_big"],
        ),
    ],
)
def test_every_ordering_sorts_launched_skus(
    client: Any, catalogue: Catalogue, ordering: str, expected: list[str]
) -> None:
    status, body = get(client, f"/skus/?ordering={ordering}&pagesize=100")
    assert status == 200
    assert names_of(catalogue, body) == expected
    assert body["count"] == 6


def test_default_ordering_is_newest_first(client: Any, catalogue: Catalogue) -> None:
    _, body = get(client, "/skus/")
    assert names_of(catalogue, body)[0] == "cooker"


def test_list_item_shape(client: Any, catalogue: Catalogue) -> None:
    _, body = get(client, f"/skus/?category={catalogue.categories['冰箱']}&ordering=price")
    assert body["lists"][0] == {
        "id": catalogue.skus["fridge_silver"],
        "name": "海尔 470升 星蕴银 冰箱",
        "price": "5999.00",
        "image": "http://testserver/media/aa/fridge-silver.jpg",
        "sales": 120,
        "comments": 30,
    }
    assert body["lists"][1]["image"] is None


def test_equal_prices_page_without_overlap(client: Any, catalogue: Catalogue, db: Any) -> None:
    from chalicelib.db.tables import skus

    with db.begin() as conn:
        conn.execute(skus.update().values(price=100000, sales=5))
    seen: list[int] = []
    for page in (1, 2, 3):
        _, body = get(client, f"/skus/?ordering=price&pagesize=2&page={page}")
        seen += [item["id"] for item in body["lists"]]
    assert sorted(seen) == sorted(catalogue.skus[k] for k in LAUNCHED)
    assert seen == sorted(seen)  # ties broken by id


def test_top_level_category_lists_its_children(client: Any, catalogue: Catalogue) -> None:
    _, body = get(client, f"/skus/?category={catalogue.categories['大家电']}&ordering=price")
    assert names_of(catalogue, body) == [
        "washer_8kg",
        "washer_10kg",
        "fridge_silver",
        "fridge_grey",
        "fridge_big",
    ]
    _, body = get(client, f"/skus/?category={catalogue.categories['个护健康']}")
    assert body == {"count": 0, "lists": [], "page": 1, "pages": 1, "pagesize": 10}


def test_pagination_edges(client: Any, catalogue: Catalogue) -> None:
    _, last = get(client, "/skus/?ordering=price&pagesize=4&page=2")
    assert (last["count"], last["pages"], last["page"], last["pagesize"]) == (6, 2, 2, 4)
    assert names_of(catalogue, last) == ["fridge_grey", "fridge_big"]
    _, exact = get(client, "/skus/?ordering=price&pagesize=3&page=2")
    assert len(exact["lists"]) == 3 and exact["pages"] == 2
    _, past = get(client, "/skus/?ordering=price&pagesize=3&page=3")
    assert past == {"count": 6, "lists": [], "page": 3, "pages": 2, "pagesize": 3}
    _, capped = get(client, "/skus/?pagesize=1000")
    assert capped["pagesize"] == 100 and len(capped["lists"]) == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ordering=name", "ordering"),
        ("ordering=-price;drop", "ordering"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("pagesize=0", "pagesize"),
        ("category=abc", "category"),
        ("category=0", "category"),
        ("category=99999999999999999999", "category"),
        ("brand=abc", "brand"),
        ("brand=0", "brand"),
        ("brand=-1", "brand"),
        ("brand=1.5", "brand"),
        ("brand=%EF%BC%91", "brand"),
        ("brand=99999999999999999999", "brand"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_field(
    client: Any, catalogue: Catalogue, redis: Any, query: str, field: str
) -> None:
    status, body = get(client, f"/skus/?{query}")
    assert status == 400
    assert list(body) == [field]
    assert redis.keys("stats:*") == []


def test_unknown_category_is_404_and_not_counted(
    client: Any, catalogue: Catalogue, redis: Any
) -> None:
    status, body = get(client, "/skus/?category=987654")
    assert status == 404
    assert body["code"] == "not_found"
    assert redis.keys("stats:*") == []


def test_category_list_views_are_counted_for_today(
    client: Any, catalogue: Catalogue, redis: Any
) -> None:
    fridge, washer = catalogue.categories["冰箱"], catalogue.categories["洗衣机"]
    for path in (
        f"/skus/?category={fridge}",
        f"/skus/?category={fridge}&page=2",
        f"/skus/?category={washer}&ordering=-sales",
        "/skus/",
    ):
        assert client.http.get(path).status_code == 200
    day = shop_today(config.settings().shop_timezone).isoformat()
    key = f"stats:category-views:{day}"
    assert redis.hgetall(key) == {str(fridge): "2", str(washer): "1"}
    assert 39 * 86400 < redis.ttl(key) <= 40 * 86400


def test_detail_with_specs_images_and_variants(client: Any, catalogue: Catalogue) -> None:
    s = catalogue.skus
    status, body = get(client, f"/skus/{s['fridge_silver']}/")
    assert status == 200
    assert body == {
        "id": s["fridge_silver"],
        "name": "海尔 470升 星蕴银 冰箱",
        "caption": "一级能效 风冷无霜",
        "price": "5999.00",
        "stock": 10,
        "sales": 120,
        "comments": 30,
        "category": {"id": catalogue.categories["冰箱"], "name": "冰箱"},
        "spu": {
            "id": catalogue.spus["haier"],
            "name": "海尔十字对开门冰箱",
            "desc": "<p>海尔十字对开门冰箱的介绍</p>",
            "desc_detail": "<p>海尔十字对开门冰箱的介绍</p>",
            "desc_pack": "<ul><li>主机×1</li></ul>",
            "desc_service": "<p>全国联保</p>",
        },
        "brand": {
            "id": catalogue.brands["haier"],
            "name": "海尔",
            "logo": "http://testserver/media/cc/haier.png",
        },
        "specs": {"颜色": "星蕴银", "容量": "470升"},
        "images": ["http://testserver/media/aa/front.jpg", "http://testserver/media/aa/side.jpg"],
        "variants": [
            {"id": s["fridge_silver"], "specs": {"颜色": "星蕴银", "容量": "470升"}},
            {"id": s["fridge_grey"], "specs": {"颜色": "玄青灰", "容量": "470升"}},
            {"id": s["fridge_big"], "specs": {"颜色": "星蕴银", "容量": "650升"}},
        ],
    }


def test_detail_brand_without_logo_and_spu_without_brand(client: Any, catalogue: Catalogue) -> None:
    _, washer = get(client, f"/skus/{catalogue.skus['washer_8kg']}/")
    assert washer["brand"] == {"id": catalogue.brands["swan"], "name": "小天鹅", "logo": None}
    assert (washer["specs"], washer["variants"]) == (
        {},
        [
            {"id": catalogue.skus["washer_10kg"], "specs": {}},
            {"id": catalogue.skus["washer_8kg"], "specs": {}},
        ],
    )
    _, cooker = get(client, f"/skus/{catalogue.skus['cooker']}/")
    assert cooker["brand"] is None


def test_variants_come_from_the_options_each_sku_picks(
    client: Any, catalogue: Catalogue, db: Any
) -> None:
    """Given an SPU whose SKUs pick options of its specifications, one SKU picking only one
    of the two and another none, when its detail is read, then each variant shows exactly
    its picks, in the order the specifications were made."""
    s = catalogue.skus
    with db.begin() as conn:
        only_colour = factories.sku(
            conn, spu_id=catalogue.spus["haier"], name="海尔 冰箱 白", specs={"颜色": "月光白"}
        )
        bare = factories.sku(conn, spu_id=catalogue.spus["haier"], name="海尔 冰箱 基础款")
    _, body = get(client, f"/skus/{only_colour}/")
    assert body["specs"] == {"颜色": "月光白"}
    assert body["variants"] == [
        {"id": s["fridge_silver"], "specs": {"颜色": "星蕴银", "容量": "470升"}},
        {"id": s["fridge_grey"], "specs": {"颜色": "玄青灰", "容量": "470升"}},
        {"id": s["fridge_big"], "specs": {"颜色": "星蕴银", "容量": "650升"}},
        {"id": only_colour, "specs": {"颜色": "月光白"}},
        {"id": bare, "specs": {}},
    ]
    assert list(body["variants"][2]["specs"]) == ["颜色", "容量"]


def test_brand_filter_lists_the_skus_of_its_spus(client: Any, catalogue: Catalogue) -> None:
    status, body = get(client, f"/skus/?brand={catalogue.brands['haier']}&ordering=price")
    assert status == 200
    assert names_of(catalogue, body) == ["fridge_silver", "fridge_grey", "fridge_big"]
    assert body["count"] == 3
    _, both = get(
        client,
        f"/skus/?brand={catalogue.brands['swan']}&category={catalogue.categories['大家电']}"
        "&ordering=price",
    )
    assert names_of(catalogue, both) == ["washer_8kg", "washer_10kg"]
    _, none = get(
        client,
        f"/skus/?brand={catalogue.brands['swan']}&category={catalogue.categories['冰箱']}",
    )
    assert (none["count"], none["lists"]) == (0, [])


def test_brand_filter_on_an_unknown_or_deleted_brand_is_404(
    client: Any, catalogue: Catalogue, db: Any
) -> None:
    from chalicelib.db.tables import brands

    with db.begin() as conn:
        conn.execute(
            brands.update().where(brands.c.id == catalogue.brands["swan"]).values(is_deleted=True)
        )
    for brand in (987654, catalogue.brands["swan"]):
        status, body = get(client, f"/skus/?brand={brand}")
        assert (status, body["code"]) == (404, "not_found")


def test_channels_are_groups_in_order_with_channels_by_sequence(
    client: Any, catalogue: Catalogue
) -> None:
    status, body = get(client, "/channels/")
    g, ch, c = catalogue.channel_groups, catalogue.channels, catalogue.categories

    def channel(category: str) -> dict[str, Any]:
        return {
            "id": ch[category],
            "category": {"id": c[category], "name": category},
            "url": f"http://shop.example.com/list/{c[category]}/",
        }

    assert status == 200
    assert body == [
        {"id": g["家电"], "name": "家电", "channels": [channel("厨房小电"), channel("大家电")]},
        {"id": g["个护"], "name": "个护", "channels": [channel("个护健康")]},
        {"id": g["空组"], "name": "空组", "channels": []},
    ]


def test_channels_with_equal_sequences_go_by_id(client: Any, catalogue: Catalogue, db: Any) -> None:
    from chalicelib.db.tables import channels

    with db.begin() as conn:
        conn.execute(channels.update().values(sequence=5))
    _, body = get(client, "/channels/")
    assert [item["id"] for item in body[0]["channels"]] == [
        catalogue.channels["大家电"],
        catalogue.channels["厨房小电"],
    ]


def test_no_channels_is_an_empty_list(client: Any, database_url: str) -> None:
    assert get(client, "/channels/") == (200, [])


def test_detail_without_uploaded_images_shows_none_or_the_default(
    client: Any, catalogue: Catalogue
) -> None:
    _, body = get(client, f"/skus/{catalogue.skus['fridge_grey']}/")
    assert body["images"] == []


@pytest.mark.parametrize("path_id", ["fridge_old", "missing", "abc", "-1", "99999999999999999999"])
def test_unlaunched_unknown_and_malformed_skus_are_404(
    client: Any, catalogue: Catalogue, path_id: str
) -> None:
    sku_id = catalogue.skus.get(path_id, 987654 if path_id == "missing" else path_id)
    for path in (f"/skus/{sku_id}/", f"/skus/{sku_id}/comments/"):
        status, body = get(client, path)
        assert (status, body["code"]) == (404, "not_found")


def test_unlaunched_skus_never_listed(client: Any, catalogue: Catalogue) -> None:
    old = catalogue.skus["fridge_old"]
    for path in (
        "/skus/?pagesize=100",
        f"/skus/?category={catalogue.categories['冰箱']}",
        "/skus/?ordering=-sales&pagesize=100",
        "/search/?q=冰箱&pagesize=100",
    ):
        _, body = get(client, path)
        assert old not in [item["id"] for item in body["lists"]]


def _order_with_comments(make_user: Any, lines: list[dict[str, Any]], order_id: str) -> None:
    buyer = make_user("dora_explorer")
    with transaction() as conn:
        factories.order(conn, buyer.id, order_id=order_id, lines=lines, status=5, create_time=T0)


def test_comments_newest_first_with_anonymous_names_masked(
    client: Any, catalogue: Catalogue, make_user: Any
) -> None:
    sku = catalogue.skus["fridge_silver"]
    common = {"sku_id": sku, "name": "冰箱", "price": 599900, "count": 1}
    _order_with_comments(
        make_user,
        [
            {
                **common,
                "score": 5,
                "comment": "很好",
                "is_anonymous": False,
                "commented_at": T0 + timedelta(days=1),
            },
            {
                **common,
                "score": 2,
                "comment": "一般",
                "is_anonymous": True,
                "commented_at": T0 + timedelta(days=2),
            },
            {**common, "score": None, "comment": None, "commented_at": None},
            {
                **common,
                "sku_id": catalogue.skus["fridge_grey"],
                "score": 4,
                "comment": "别的",
                "commented_at": T0,
            },
        ],
        "20240501000000000000001",
    )
    status, body = get(client, f"/skus/{sku}/comments/?pagesize=1")
    assert status == 200
    assert body == {
        "count": 2,
        "page": 1,
        "pages": 2,
        "pagesize": 1,
        "lists": [
            {
                "username": "d***r",
                "score": 2,
                "content": "一般",
                "create_time": "2024-05-03T16:00:00+08:00",
            }
        ],
    }
    _, second = get(client, f"/skus/{sku}/comments/?pagesize=1&page=2")
    assert second["lists"] == [
        {
            "username": "dora_explorer",
            "score": 5,
            "content": "很好",
            "create_time": "2024-05-02T16:00:00+08:00",
        }
    ]
    _, past = get(client, f"/skus/{sku}/comments/?page=3&pagesize=1")
    assert past["lists"] == [] and past["count"] == 2
    status, body = get(client, f"/skus/{sku}/comments/?page=x")
    assert (status, list(body)) == (400, ["page"])


def test_orders_keep_lines_of_a_sku_that_is_unlaunched(
    client: Any, catalogue: Catalogue, make_user: Any, staff_headers: dict[str, str]
) -> None:
    sku = catalogue.skus["washer_8kg"]
    _order_with_comments(
        make_user,
        [{"sku_id": sku, "name": "洗衣机", "price": 249900, "count": 2}],
        "20240501000000000000002",
    )
    assert (
        client.http.delete(f"/meiduo_admin/skus/{sku}/", headers=staff_headers).status_code == 204
    )
    with transaction() as conn:
        line = conn.execute(select(order_lines).where(order_lines.c.sku_id == sku)).one()
    assert (line.order_id, line.count, line.price) == ("20240501000000000000002", 2, 249900)
    assert get(client, f"/skus/{sku}/")[0] == 404
