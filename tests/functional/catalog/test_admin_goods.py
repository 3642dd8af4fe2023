"""Admin SPUs (goods/), specifications (goods/specs/), options (specs/options/), channels
(goods/channels/) and the console's pickers, on the small known catalogue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import (
    brands,
    channel_groups,
    channels,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
)
from tests import factories
from tests.conftest import post_json, put_json
from tests.functional.catalog.conftest import Catalogue

A = "/meiduo_admin"


def get(client: Any, path: str, headers: dict[str, str]) -> Any:
    response = client.http.get(A + path, headers=headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def rows(db: Any, *tables: Any) -> tuple[Any, ...]:
    with db.begin() as conn:
        return tuple(conn.execute(select(t).order_by(t.c.id)).all() for t in tables)


@dataclass
class Shop:
    """The catalogue plus a brand on 海尔's SPU, its specifications 颜色 (星蕴银, 玄青灰) and
    容量 (470升), the silver fridge choosing 星蕴银 + 470升, and a channel group."""

    brand: int
    old_brand: int
    color: int
    size: int
    silver: int
    grey: int
    l470: int
    group: int


@pytest.fixture
def shop(catalogue: Catalogue) -> Shop:
    with transaction() as conn:
        # Start from no specifications at all, whatever tests/factories.py gives the
        # catalogue's SKUs: these tests list them exactly.
        for table in (sku_spec_options, spec_options, spu_specs, channels, channel_groups):
            conn.execute(table.delete())
        # and no brands: these tests make and list their own
        conn.execute(spus.update().values(brand_id=None))
        conn.execute(brands.delete())
        brand = factories.brand(conn, "海尔", first_letter="H")
        old = factories.brand(conn, "旧品牌", is_deleted=True)
        conn.execute(
            spus.update().where(spus.c.id == catalogue.spus["haier"]).values(brand_id=brand)
        )
        haier = catalogue.spus["haier"]
        color, size = factories.spec(conn, haier, "颜色"), factories.spec(conn, haier, "容量")
        silver, grey = (
            factories.option(conn, color, "星蕴银"),
            factories.option(conn, color, "玄青灰"),
        )
        l470 = factories.option(conn, size, "470升")
        factories.sku_choice(conn, catalogue.skus["fridge_silver"], silver)
        factories.sku_choice(conn, catalogue.skus["fridge_silver"], l470)
        group = factories.channel_group(conn, "家电")
    return Shop(brand, old, color, size, silver, grey, l470, group)


def spu_form(catalogue: Catalogue, shop: Shop, **changes: Any) -> dict[str, Any]:
    """What the SPU add page posts: its form object as it is (selects give numbers)."""
    c = catalogue.categories
    return {
        "name": "美的变频电饭煲",
        "brand_id": shop.brand,
        "category1_id": c["厨房小电"],
        "category2_id": c["电饭煲(2)"],
        "category3_id": c["电饭煲"],
        "desc_detail": "<p>IH<b>加热</b></p>",
        "desc_pack": "",
        "desc_service": "<p>三年保修</p>",
        **changes,
    }


# --- pickers ----------------------------------------------------------------------------


def test_the_pickers(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    c, s = catalogue.categories, catalogue.spus
    tops = [
        {"id": c["大家电"], "name": "大家电"},
        {"id": c["厨房小电"], "name": "厨房小电"},
        {"id": c["个护健康"], "name": "个护健康"},
    ]
    assert get(client, "/goods/channel/categories/", staff_headers) == tops
    assert get(client, "/goods/categories/", staff_headers) == tops
    assert get(client, f"/goods/channel/categories/{c['大家电']}/", staff_headers) == [
        {"id": c["冰箱(2)"], "name": "冰箱"},
        {"id": c["洗衣机(2)"], "name": "洗衣机"},
    ]
    assert get(client, f"/goods/channel/categories/{c['冰箱']}/", staff_headers) == []
    assert get(client, "/goods/channel_types/", staff_headers) == [
        {"id": shop.group, "name": "家电"}
    ]
    assert get(client, "/goods/brands/simple/", staff_headers) == [
        {"id": shop.brand, "name": "海尔"}
    ]
    assert get(client, "/goods/simple/", staff_headers) == [
        {"id": s["haier"], "name": "海尔十字对开门冰箱"},
        {"id": s["swan"], "name": "小天鹅滚筒洗衣机"},
        {"id": s["midea"], "name": "美的电饭煲"},
    ]
    assert get(client, "/goods/specs/simple/", staff_headers) == [
        {"id": shop.color, "name": "颜色", "spu": "海尔十字对开门冰箱"},
        {"id": shop.size, "name": "容量", "spu": "海尔十字对开门冰箱"},
    ]
    assert get(client, f"/goods/{s['haier']}/specs/", staff_headers) == [
        {
            "id": shop.color,
            "name": "颜色",
            "spu": "海尔十字对开门冰箱",
            "spu_id": s["haier"],
            "options": [
                {"id": shop.silver, "value": "星蕴银"},
                {"id": shop.grey, "value": "玄青灰"},
            ],
        },
        {
            "id": shop.size,
            "name": "容量",
            "spu": "海尔十字对开门冰箱",
            "spu_id": s["haier"],
            "options": [{"id": shop.l470, "value": "470升"}],
        },
    ]
    assert get(client, f"/goods/{s['midea']}/specs/", staff_headers) == []
    for path in ("/goods/987654/specs/", "/goods/channel/categories/987654/"):
        assert client.http.get(A + path, headers=staff_headers).status_code == 404


# --- SPUs -------------------------------------------------------------------------------


def test_spu_list_names_the_brand_and_sums_its_skus(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    c = catalogue.categories
    body = get(client, "/goods/?pagesize=2", staff_headers)
    assert (body["count"], body["pages"]) == (3, 2)
    assert body["lists"][0] == {
        "id": catalogue.spus["haier"],
        "name": "海尔十字对开门冰箱",
        "brand": "海尔",
        "brand_id": shop.brand,
        "category1_id": c["大家电"],
        "category2_id": c["冰箱(2)"],
        "category3_id": c["冰箱"],
        "sales": 120 + 80 + 10 + 999,
        "comments": 30 + 50 + 5 + 999,
    }
    assert body["lists"][1]["brand"] is None and body["lists"][1]["brand_id"] is None
    found = get(client, "/goods/?keyword=电饭", staff_headers)
    assert [row["id"] for row in found["lists"]] == [catalogue.spus["midea"]]


def test_the_spu_pages_create_and_edit_with_sanitized_descriptions(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    form = spu_form(
        catalogue,
        shop,
        desc_detail=(
            '<p onclick="steal()">IH<script>alert(1)</script><a href="javascript:x()">看</a></p>'
        ),
    )
    response = post_json(client, A + "/goods/", form, staff_headers)
    assert response.status_code == 201, response.body
    created = json.loads(response.body)
    assert created == {
        "id": created["id"],
        "name": "美的变频电饭煲",
        "brand": "海尔",
        "brand_id": shop.brand,
        "category1_id": form["category1_id"],
        "category2_id": form["category2_id"],
        "category3_id": form["category3_id"],
        "sales": 0,
        "comments": 0,
        "desc_detail": '<p>IH<a rel="noopener noreferrer">看</a></p>',
        "desc_pack": "",
        "desc_service": "<p>三年保修</p>",
    }
    path = f"{A}/goods/{created['id']}/"
    # The edit page reads the SPU and sends its form back, ids as they came.
    page = json.loads(client.http.get(path, headers=staff_headers).body)
    assert page == created
    edit = {key: page[key] for key in spu_form(catalogue, shop)} | {"name": "美的电饭煲 二代"}
    changed = put_json(client, path, edit, staff_headers)
    assert changed.status_code == 200, changed.body
    assert json.loads(changed.body) == {**created, "name": "美的电饭煲 二代"}


def test_moving_an_spu_moves_its_skus_and_drops_the_home_cache(
    client: Any,
    catalogue: Catalogue,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    redis: Any,
) -> None:
    c = catalogue.categories
    client.http.get("/home/")
    form = spu_form(
        catalogue,
        shop,
        name="小天鹅洗衣机",
        category1_id=str(c["大家电"]),
        category2_id=str(c["冰箱(2)"]),
        category3_id=str(c["冰箱"]),
    )
    swan = catalogue.spus["swan"]
    assert put_json(client, f"{A}/goods/{swan}/", form, staff_headers).status_code == 200
    with db.begin() as conn:
        moved = set(conn.scalars(select(skus.c.category_id).where(skus.c.spu_id == swan)))
    assert moved == {c["冰箱"]} and not redis.exists("catalog:home")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"name": ""}, ["name"]),
        ({"name": "名" * 51}, ["name"]),
        ({"brand_id": 987654}, ["brand_id"]),
        ({"brand_id": "deleted"}, ["brand_id"]),
        ({"brand_id": ""}, ["brand_id"]),
        ({"category1_id": "second"}, ["category1_id"]),
        ({"category2_id": "other branch"}, ["category2_id"]),
        ({"category3_id": "other branch"}, ["category3_id"]),
        ({"category3_id": 987654}, ["category3_id"]),
        ({"category3_id": "1.5"}, ["category3_id"]),
        ({"desc_detail": "<p>\x00</p>"}, ["desc_detail"]),
        ({"brand_id": 987654, "category2_id": "other branch"}, ["brand_id", "category2_id"]),
    ],
)
def test_bad_spus_are_400_naming_the_field_and_change_nothing(
    client: Any,
    catalogue: Catalogue,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    c = catalogue.categories
    replace = {
        "deleted": shop.old_brand,
        "second": c["电饭煲(2)"],
        "other branch": c["冰箱(2)"] if "category2_id" in changes else c["冰箱"],
    }
    changes = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    before = rows(db, spus, skus)
    for method, path in (
        (post_json, f"{A}/goods/"),
        (put_json, f"{A}/goods/{catalogue.spus['midea']}/"),
    ):
        response = method(client, path, spu_form(catalogue, shop, **changes), staff_headers)
        assert response.status_code == 400, response.body
        assert sorted(json.loads(response.body)) == fields
    assert rows(db, spus, skus) == before


def test_an_spu_with_a_live_sku_is_409_in_use_then_deleted_with_its_specs(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str], db: Any
) -> None:
    haier = catalogue.spus["haier"]
    path = f"{A}/goods/{haier}/"
    before = rows(db, spus, spu_specs, spec_options)

    refused = client.http.delete(path, headers=staff_headers)

    assert refused.status_code == 409 and json.loads(refused.body)["code"] == "in_use"
    assert rows(db, spus, spu_specs, spec_options) == before
    for key in ("fridge_silver", "fridge_grey", "fridge_big", "fridge_old"):
        sku_path = f"{A}/skus/{catalogue.skus[key]}/"
        assert client.http.delete(sku_path, headers=staff_headers).status_code == 204
    assert client.http.delete(path, headers=staff_headers).status_code == 204
    with db.begin() as conn:
        assert set(
            conn.scalars(select(spu_specs.c.is_deleted).where(spu_specs.c.spu_id == haier))
        ) == {True}
        assert set(conn.scalars(select(spec_options.c.is_deleted))) == {True}
    assert client.http.get(path, headers=staff_headers).status_code == 404
    assert client.http.delete(path, headers=staff_headers).status_code == 404
    assert client.http.get(f"{A}/goods/{haier}/specs/", headers=staff_headers).status_code == 404
    assert get(client, "/goods/specs/", staff_headers)["count"] == 0
    assert get(client, "/specs/options/", staff_headers)["count"] == 0
    assert haier not in [row["id"] for row in get(client, "/goods/simple/", staff_headers)]


# --- specifications ---------------------------------------------------------------------


def test_specifications_as_the_console_manages_them(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    midea = catalogue.spus["midea"]
    response = post_json(
        client, A + "/goods/specs/", {"name": "容量", "spu_id": midea}, staff_headers
    )
    assert response.status_code == 201, response.body
    spec = json.loads(response.body)
    assert spec == {"id": spec["id"], "name": "容量", "spu": "美的电饭煲", "spu_id": midea}
    path = f"{A}/goods/specs/{spec['id']}/"
    assert get(client, f"/goods/specs/{spec['id']}/", staff_headers) == spec
    renamed = put_json(client, path, {"name": "容积", "spu_id": str(midea)}, staff_headers)
    assert json.loads(renamed.body) == {**spec, "name": "容积"}
    listed = get(client, "/goods/specs/?pagesize=2&page=2", staff_headers)
    assert (listed["count"], listed["lists"]) == (3, [{**spec, "name": "容积"}])
    assert client.http.delete(path, headers=staff_headers).status_code == 204
    assert client.http.get(path, headers=staff_headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "颜色", "spu_id": "haier"}, "name"),  # the SPU has one of that name
        ({"name": "", "spu_id": "haier"}, "name"),
        ({"name": "x" * 21, "spu_id": "haier"}, "name"),
        ({"name": "功率", "spu_id": 987654}, "spu_id"),
        ({"name": "功率", "spu_id": "abc"}, "spu_id"),
        ({"name": "功率"}, "spu_id"),
    ],
)
def test_bad_specifications_are_400_and_change_nothing(
    client: Any,
    catalogue: Catalogue,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    body: dict[str, Any],
    field: str,
) -> None:
    if body.get("spu_id") == "haier":
        body["spu_id"] = catalogue.spus["haier"]
    before = rows(db, spu_specs)
    for method, path in (
        (post_json, f"{A}/goods/specs/"),
        (put_json, f"{A}/goods/specs/{shop.size}/"),
    ):
        response = method(client, path, body, staff_headers)
        assert response.status_code == 400, response.body
        assert list(json.loads(response.body)) == [field]
    assert rows(db, spu_specs) == before


def test_a_specification_a_live_sku_uses_is_409_in_use(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str], db: Any
) -> None:
    path = f"{A}/goods/specs/{shop.color}/"
    before = rows(db, spu_specs, spec_options)
    move = {"name": "颜色", "spu_id": catalogue.spus["midea"]}

    deleted = client.http.delete(path, headers=staff_headers)
    moved = put_json(client, path, move, staff_headers)

    assert (deleted.status_code, json.loads(deleted.body)["code"]) == (409, "in_use")
    assert (moved.status_code, json.loads(moved.body)["code"]) == (409, "in_use")
    assert rows(db, spu_specs, spec_options) == before
    # Once only a deleted SKU uses it, it goes, with its options.
    silver_sku = catalogue.skus["fridge_silver"]
    assert client.http.delete(f"{A}/skus/{silver_sku}/", headers=staff_headers).status_code == 204
    assert client.http.delete(path, headers=staff_headers).status_code == 204
    options = get(client, "/specs/options/", staff_headers)["lists"]
    assert [row["id"] for row in options] == [shop.l470]


# --- options ----------------------------------------------------------------------------


def test_options_as_the_console_manages_them(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    response = post_json(
        client,
        A + "/specs/options/",
        {"value": "月光白", "spec_id": str(shop.color)},
        staff_headers,
    )
    assert response.status_code == 201, response.body
    option = json.loads(response.body)
    assert option == {"id": option["id"], "value": "月光白", "spec": "颜色", "spec_id": shop.color}
    path = f"{A}/specs/options/{option['id']}/"
    assert get(client, f"/specs/options/{option['id']}/", staff_headers) == option
    changed = put_json(client, path, {"value": "珍珠白", "spec_id": shop.color}, staff_headers)
    assert json.loads(changed.body) == {**option, "value": "珍珠白"}
    moved = put_json(client, path, {"value": "650升", "spec_id": shop.size}, staff_headers)
    assert json.loads(moved.body) == {
        **option,
        "value": "650升",
        "spec": "容量",
        "spec_id": shop.size,
    }
    listed = get(client, "/specs/options/", staff_headers)
    assert [row["value"] for row in listed["lists"]] == ["星蕴银", "玄青灰", "470升", "650升"]
    assert client.http.delete(path, headers=staff_headers).status_code == 204
    assert client.http.get(path, headers=staff_headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "玄青灰", "spec_id": "color"}, "value"),  # taken in that specification
        ({"value": "", "spec_id": "color"}, "value"),
        ({"value": "v" * 51, "spec_id": "color"}, "value"),
        ({"value": "白", "spec_id": 987654}, "spec_id"),
        ({"value": "白", "spec_id": "-1"}, "spec_id"),
        ({"value": "白", "spec_id": True}, "spec_id"),
    ],
)
def test_bad_options_are_400_and_change_nothing(
    client: Any,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    body: dict[str, Any],
    field: str,
) -> None:
    if body["spec_id"] == "color":
        body["spec_id"] = shop.color
    before = rows(db, spec_options)
    for method, path in (
        (post_json, f"{A}/specs/options/"),
        (put_json, f"{A}/specs/options/{shop.silver}/"),
    ):
        response = method(client, path, body, staff_headers)
        assert response.status_code == 400, response.body
        assert list(json.loads(response.body)) == [field]
    assert rows(db, spec_options) == before


def test_an_option_a_live_sku_uses_is_409_in_use(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str], db: Any
) -> None:
    path = f"{A}/specs/options/{shop.silver}/"
    before = rows(db, spec_options)

    deleted = client.http.delete(path, headers=staff_headers)
    moved = put_json(client, path, {"value": "星蕴银", "spec_id": shop.size}, staff_headers)
    renamed = put_json(client, path, {"value": "星光银", "spec_id": shop.color}, staff_headers)

    assert (deleted.status_code, json.loads(deleted.body)["code"]) == (409, "in_use")
    assert (moved.status_code, json.loads(moved.body)["code"]) == (409, "in_use")
    assert rows(db, spec_options)[0] != before[0]  # a rename is allowed
    assert renamed.status_code == 200
    assert (
        client.http.delete(f"{A}/specs/options/{shop.grey}/", headers=staff_headers).status_code
        == 204
    )


# --- channels ---------------------------------------------------------------------------


def test_channels_as_the_console_manages_them(
    client: Any, catalogue: Catalogue, shop: Shop, staff_headers: dict[str, str]
) -> None:
    c = catalogue.categories
    form = {
        "group_id": str(shop.group),
        "category_id": c["大家电"],
        "url": "http://jiadian.jd.com",
        "sequence": "1",
    }
    response = post_json(client, A + "/goods/channels/", form, staff_headers)
    assert response.status_code == 201, response.body
    channel = json.loads(response.body)
    assert channel == {
        "id": channel["id"],
        "category": "大家电",
        "category_id": c["大家电"],
        "group": "家电",
        "group_id": shop.group,
        "sequence": 1,
        "url": "http://jiadian.jd.com",
    }
    path = f"{A}/goods/channels/{channel['id']}/"
    assert get(client, f"/goods/channels/{channel['id']}/", staff_headers) == channel
    # The edit dialog sends what it read back, with the fields changed.
    edit = {key: channel[key] for key in ("group_id", "category_id", "url", "sequence")}
    changed = put_json(client, path, {**edit, "url": "/list/1/", "sequence": "2"}, staff_headers)
    assert json.loads(changed.body) == {**channel, "url": "/list/1/", "sequence": 2}
    assert get(client, "/goods/channels/", staff_headers)["lists"] == [json.loads(changed.body)]
    assert client.http.delete(path, headers=staff_headers).status_code == 204
    assert client.http.get(path, headers=staff_headers).status_code == 404
    assert client.http.delete(path, headers=staff_headers).status_code == 404


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"group_id": 987654}, ["group_id"]),
        ({"category_id": "second"}, ["category_id"]),
        ({"category_id": "taken"}, ["category_id"]),
        ({"category_id": 987654}, ["category_id"]),
        ({"url": "javascript:alert(1)"}, ["url"]),
        ({"url": "//evil.example"}, ["url"]),
        ({"url": ""}, ["url"]),
        ({"url": "http://a.cn/\n"}, ["url"]),
        ({"sequence": "-1"}, ["sequence"]),
        ({"sequence": "1e3"}, ["sequence"]),
        ({"group_id": 987654, "category_id": "second"}, ["category_id", "group_id"]),
    ],
)
def test_bad_channels_are_400_and_change_nothing(
    client: Any,
    catalogue: Catalogue,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    c = catalogue.categories
    with transaction() as conn:
        conn.execute(
            channels.insert().values(
                group_id=shop.group, category_id=c["厨房小电"], url="/a/", sequence=1
            )
        )
        mine = conn.execute(
            channels.insert().values(
                group_id=shop.group, category_id=c["个护健康"], url="/b/", sequence=2
            )
        ).inserted_primary_key[0]
    replace = {"second": c["冰箱(2)"], "taken": c["厨房小电"]}
    changes = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    form = {
        "group_id": shop.group,
        "category_id": c["大家电"],
        "url": "http://x.cn",
        "sequence": 3,
        **changes,
    }
    before = rows(db, channels)
    for method, path in (
        (post_json, f"{A}/goods/channels/"),
        (put_json, f"{A}/goods/channels/{mine}/"),
    ):
        response = method(client, path, form, staff_headers)
        assert response.status_code == 400, response.body
        assert sorted(json.loads(response.body)) == fields
    assert rows(db, channels) == before


# --- unknown ids and access -------------------------------------------------------------

RESOURCES = ["/goods/{}/", "/goods/specs/{}/", "/specs/options/{}/", "/goods/channels/{}/"]


@pytest.mark.parametrize("template", RESOURCES)
@pytest.mark.parametrize("raw_id", ["987654", "abc", "0"])
def test_unknown_ids_are_404_and_change_nothing(
    client: Any,
    catalogue: Catalogue,
    shop: Shop,
    staff_headers: dict[str, str],
    db: Any,
    template: str,
    raw_id: str,
) -> None:
    valid = {
        "/goods/{}/": spu_form(catalogue, shop),
        "/goods/specs/{}/": {"name": "功率", "spu_id": catalogue.spus["midea"]},
        "/specs/options/{}/": {"value": "金色", "spec_id": shop.color},
        "/goods/channels/{}/": {
            "group_id": shop.group,
            "category_id": catalogue.categories["大家电"],
            "url": "/x/",
            "sequence": 1,
        },
    }[template]
    before = rows(db, spus, spu_specs, spec_options, channels)
    path = A + template.format(raw_id)
    assert client.http.get(path, headers=staff_headers).status_code == 404
    assert put_json(client, path, valid, staff_headers).status_code == 404
    assert client.http.delete(path, headers=staff_headers).status_code == 404
    assert rows(db, spus, spu_specs, spec_options, channels) == before


@pytest.mark.parametrize(
    "path",
    [
        "/goods/",
        "/goods/specs/",
        "/specs/options/",
        "/goods/channels/",
        "/goods/brands/",
        "/goods/simple/",
        "/goods/specs/simple/",
        "/goods/brands/simple/",
        "/goods/channel_types/",
        "/goods/categories/",
        "/goods/channel/categories/",
    ],
)
def test_customers_and_anonymous_callers_are_refused(
    client: Any, make_user: Any, auth_headers: Any, path: str
) -> None:
    assert client.http.get(A + path).status_code == 401
    assert client.http.get(A + path, headers=auth_headers(make_user())).status_code == 403


@pytest.mark.parametrize(
    "path", ["/goods/", "/goods/specs/", "/specs/options/", "/goods/channels/"]
)
def test_customers_cannot_write_and_nothing_changes(
    client: Any, shop: Shop, make_user: Any, auth_headers: Any, db: Any, path: str
) -> None:
    before = rows(db, spus, spu_specs, spec_options, channels)
    assert post_json(client, A + path, {}).status_code == 401
    assert post_json(client, A + path, {}, auth_headers(make_user())).status_code == 403
    assert rows(db, spus, spu_specs, spec_options, channels) == before
