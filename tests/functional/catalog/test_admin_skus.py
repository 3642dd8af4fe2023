"""Admin SKUs under /meiduo_admin/skus/: the console's form (strings, spec choices) and the
older form ({name: value} specs, a new SPU when none is given)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import order_lines, sku_spec_options, skus, spec_options, spu_specs, spus
from tests import factories
from tests.conftest import post_json, put_json
from tests.functional.catalog.conftest import Catalogue

ADMIN_GETS = [
    "/meiduo_admin/skus/simple/",
    "/meiduo_admin/skus/categories/",
    "/meiduo_admin/skus/",
    "/meiduo_admin/skus/1/",
]


def snapshot(db: Any) -> tuple[Any, ...]:
    with db.begin() as conn:
        return (
            conn.execute(select(skus).order_by(skus.c.id)).all(),
            conn.execute(select(sku_spec_options).order_by(sku_spec_options.c.id)).all(),
            conn.execute(select(spu_specs).order_by(spu_specs.c.id)).all(),
            conn.execute(select(spec_options).order_by(spec_options.c.id)).all(),
            conn.scalar(select(func.count()).select_from(spus)),
        )


def new_sku(catalogue: Catalogue, **changes: Any) -> dict[str, Any]:
    """The older form: no SPU (a new one is made), specs as {name: value}."""
    return {
        "name": "美的 5升 电饭煲 MB-50",
        "caption": "IH加热 24小时预约",
        "price": "499.00",
        "stock": 30,
        "category_id": catalogue.categories["电饭煲"],
        "specs": {"容量": "5升", "颜色": "白色"},
        "is_launched": True,
        **changes,
    }


@dataclass
class Variants:
    """An SPU of 冰箱 with 颜色 (白色, 黑色) and 容量 (470升), and one SKU (白色, 470升)."""

    spu: int
    color: int
    size: int
    white: int
    black: int
    l470: int
    sku: int


@pytest.fixture
def variants(catalogue: Catalogue) -> Variants:
    with transaction() as conn:
        spu = factories.spu(conn, "海尔冰箱二代", category_id=catalogue.categories["冰箱"])
        color, size = factories.spec(conn, spu, "颜色"), factories.spec(conn, spu, "容量")
        white, black = factories.option(conn, color, "白色"), factories.option(conn, color, "黑色")
        l470 = factories.option(conn, size, "470升")
        sku = factories.sku(conn, spu_id=spu, name="海尔二代 白色 470升", price="3999.00")
        factories.sku_choice(conn, sku, white)
        factories.sku_choice(conn, sku, l470)
    return Variants(spu, color, size, white, black, l470, sku)


def console_sku(catalogue: Catalogue, v: Variants, **changes: Any) -> dict[str, Any]:
    """What the console's SKU dialog posts: every form value a string, spec ids as object
    keys (strings), option ids as the select's numbers."""
    return {
        "name": "海尔二代 黑色 470升",
        "spu_id": v.spu,
        "caption": "黑色款",
        "category_id": catalogue.categories["冰箱"],
        "price": "4199.00",
        "cost_price": "3000.00",
        "market_price": "4599.00",
        "stock": "12",
        "is_launched": "true",
        "specs": [
            {"spec_id": str(v.color), "option_id": v.black},
            {"spec_id": str(v.size), "option_id": v.l470},
        ],
        **changes,
    }


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_reads_need_staff(
    client: Any, catalogue: Catalogue, make_user: Any, auth_headers: Any, path: str
) -> None:
    assert client.http.get(path).status_code == 401
    assert client.http.get(path, headers=auth_headers(make_user())).status_code == 403


def test_writes_need_staff_and_change_nothing(
    client: Any, catalogue: Catalogue, make_user: Any, auth_headers: Any, db: Any
) -> None:
    before = snapshot(db)
    sku = catalogue.skus["cooker"]
    for headers, status in ((None, 401), (auth_headers(make_user()), 403)):
        assert (
            post_json(client, "/meiduo_admin/skus/", new_sku(catalogue), headers).status_code
            == status
        )
        assert (
            put_json(client, f"/meiduo_admin/skus/{sku}/", new_sku(catalogue), headers).status_code
            == status
        )
        assert (
            client.http.delete(f"/meiduo_admin/skus/{sku}/", headers=headers or {}).status_code
            == status
        )
    assert snapshot(db) == before


def test_simple_list_and_third_level_categories(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    simple = json.loads(client.http.get("/meiduo_admin/skus/simple/", headers=staff_headers).body)
    assert [item["id"] for item in simple] == sorted(catalogue.skus.values())  # unlaunched too
    assert simple[0] == {"id": catalogue.skus["fridge_silver"], "name": "海尔 470升 星蕴银 冰箱"}
    leaves = json.loads(
        client.http.get("/meiduo_admin/skus/categories/", headers=staff_headers).body
    )
    c = catalogue.categories
    # Third-level categories in tree order; 个护健康 (first level, no children) is not one.
    assert leaves == [
        {"id": c["冰箱"], "name": "冰箱"},
        {"id": c["洗衣机"], "name": "洗衣机"},
        {"id": c["电饭煲"], "name": "电饭煲"},
    ]


def test_list_with_keyword_and_pagination(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    response = client.http.get("/meiduo_admin/skus/?keyword=冰箱&pagesize=3", headers=staff_headers)
    body = json.loads(response.body)
    assert (body["count"], body["pages"]) == (4, 2)
    assert body["lists"][0] == {
        "id": catalogue.skus["fridge_silver"],
        "name": "海尔 470升 星蕴银 冰箱",
        "caption": "一级能效 风冷无霜",
        "price": "5999.00",
        "cost_price": "0.00",
        "market_price": "0.00",
        "stock": 10,
        "sales": 120,
        "category": "冰箱",
        "category_id": catalogue.categories["冰箱"],
        "spu_id": catalogue.spus["haier"],
        "is_launched": True,
    }
    second = json.loads(
        client.http.get(
            "/meiduo_admin/skus/?keyword=冰箱&pagesize=3&page=2", headers=staff_headers
        ).body
    )
    assert [item["id"] for item in second["lists"]] == [catalogue.skus["fridge_old"]]
    assert second["lists"][0]["is_launched"] is False
    wildcard = json.loads(
        client.http.get("/meiduo_admin/skus/?keyword=%25_", headers=staff_headers).body
    )
    assert [item["id"] for item in wildcard["lists"]] == [catalogue.skus["washer_10kg"]]
    past = json.loads(client.http.get("/meiduo_admin/skus/?page=9", headers=staff_headers).body)
    assert past["lists"] == [] and past["count"] == 7
    bad = client.http.get("/meiduo_admin/skus/?page=nope", headers=staff_headers)
    assert (bad.status_code, list(json.loads(bad.body))) == (400, ["page"])


def test_the_console_form_creates_a_variant_with_its_choices(
    client: Any,
    catalogue: Catalogue,
    variants: Variants,
    staff_headers: dict[str, str],
    redis: Any,
) -> None:
    client.http.get("/home/")
    assert redis.exists("catalog:home")

    response = post_json(
        client, "/meiduo_admin/skus/", console_sku(catalogue, variants), staff_headers
    )

    assert response.status_code == 201, response.body
    body = json.loads(response.body)
    assert body == {
        "id": body["id"],
        "name": "海尔二代 黑色 470升",
        "caption": "黑色款",
        "price": "4199.00",
        "cost_price": "3000.00",
        "market_price": "4599.00",
        "stock": 12,
        "sales": 0,
        "category": "冰箱",
        "category_id": catalogue.categories["冰箱"],
        "spu_id": variants.spu,
        "is_launched": True,
        "specs": [
            {"spec_id": variants.color, "option_id": variants.black},
            {"spec_id": variants.size, "option_id": variants.l470},
        ],
    }
    again = client.http.get(f"/meiduo_admin/skus/{body['id']}/", headers=staff_headers)
    assert json.loads(again.body) == body
    assert not redis.exists("catalog:home")  # dropped after the commit
    assert client.http.get(f"/skus/{body['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("flag", "launched"),
    [(True, True), (False, False), ("true", True), ("false", False), (1, True), (0, False)],
)
def test_is_launched_as_the_console_sends_it(
    client: Any,
    catalogue: Catalogue,
    variants: Variants,
    staff_headers: dict[str, str],
    flag: Any,
    launched: bool,
) -> None:
    body = console_sku(catalogue, variants, is_launched=flag, stock=5, price=4199)
    response = post_json(client, "/meiduo_admin/skus/", body, staff_headers)
    assert response.status_code == 201, response.body
    created = json.loads(response.body)
    assert (created["is_launched"], created["stock"], created["price"]) == (launched, 5, "4199.00")


def test_create_with_a_new_spu_in_the_older_form(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any
) -> None:
    response = post_json(client, "/meiduo_admin/skus/", new_sku(catalogue), staff_headers)
    assert response.status_code == 201
    body = json.loads(response.body)
    assert body["spu_id"] not in catalogue.spus.values()
    with db.begin() as conn:
        spu = conn.execute(select(spus).where(spus.c.id == body["spu_id"])).one()
        named = conn.execute(
            select(spu_specs.c.id, spu_specs.c.name, spec_options.c.id, spec_options.c.value)
            .join(spec_options, spec_options.c.spec_id == spu_specs.c.id)
            .where(spu_specs.c.spu_id == spu.id)
            .order_by(spu_specs.c.id)
        ).all()
    c = catalogue.categories
    assert (spu.name, spu.category1_id, spu.category2_id, spu.category3_id) == (
        "美的 5升 电饭煲 MB-50",
        c["厨房小电"],
        c["电饭煲(2)"],
        c["电饭煲"],
    )
    assert [(name, value) for _, name, _, value in named] == [("容量", "5升"), ("颜色", "白色")]
    assert body["specs"] == [
        {"spec_id": spec_id, "option_id": option_id} for spec_id, _, option_id, _ in named
    ]
    assert (body["price"], body["cost_price"], body["market_price"]) == ("499.00", "0.00", "0.00")


def test_older_form_names_find_the_spus_specifications_and_options(
    client: Any, catalogue: Catalogue, variants: Variants, staff_headers: dict[str, str], db: Any
) -> None:
    body = new_sku(
        catalogue,
        category_id=catalogue.categories["冰箱"],
        spu_id=variants.spu,
        specs={"颜色": "黑色", "容量": "650升"},
    )
    response = post_json(client, "/meiduo_admin/skus/", body, staff_headers)
    assert response.status_code == 201, response.body
    with db.begin() as conn:
        l650 = conn.scalar(
            select(spec_options.c.id).where(
                spec_options.c.spec_id == variants.size, spec_options.c.value == "650升"
            )
        )
        specs = conn.scalar(
            select(func.count()).select_from(spu_specs).where(spu_specs.c.spu_id == variants.spu)
        )
    assert specs == 2  # found by name, not added
    assert json.loads(response.body)["specs"] == [
        {"spec_id": variants.color, "option_id": variants.black},
        {"spec_id": variants.size, "option_id": l650},
    ]


def test_create_unlaunched_is_hidden_from_the_storefront(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    created = json.loads(
        post_json(
            client, "/meiduo_admin/skus/", new_sku(catalogue, is_launched="false"), staff_headers
        ).body
    )
    assert client.http.get(f"/skus/{created['id']}/").status_code == 404
    assert (
        client.http.get(f"/meiduo_admin/skus/{created['id']}/", headers=staff_headers).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": None}, "name"),
        ({"price": "12.345"}, "price"),
        ({"price": "-1.00"}, "price"),
        ({"price": 12.5}, "price"),
        ({"price": "1000000000.00"}, "price"),
        ({"cost_price": "abc"}, "cost_price"),
        ({"market_price": "-2"}, "market_price"),
        ({"stock": -1}, "stock"),
        ({"stock": "-1"}, "stock"),
        ({"stock": "5.0"}, "stock"),
        ({"stock": "１２"}, "stock"),
        ({"stock": " 5"}, "stock"),
        ({"stock": True}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"stock": ""}, "stock"),
        ({"category_id": 987654}, "category_id"),
        ({"category_id": "x"}, "category_id"),
        ({"category_id": "parent"}, "category_id"),
        ({"category_id": "top"}, "category_id"),
        ({"spu_id": 987654}, "spu_id"),
        ({"spu_id": "0"}, "spu_id"),
        ({"spu_id": "other-category"}, "category_id"),
        ({"specs": {"颜色": ""}}, "specs"),
        ({"specs": {"x" * 21: "v"}}, "specs"),
        ({"specs": {f"规格{n}": "v" for n in range(21)}}, "specs"),  # at most 20
        ({"specs": ["颜色"]}, "specs"),
        ({"specs": "颜色"}, "specs"),
        ({"specs": [{"spec_id": 1}]}, "specs"),
        ({"is_launched": "yes"}, "is_launched"),
        ({"is_launched": 2}, "is_launched"),
        ({"caption": "c" * 201}, "caption"),
    ],
)
def test_invalid_create_and_update_are_400_naming_the_field_and_change_nothing(
    client: Any,
    catalogue: Catalogue,
    staff_headers: dict[str, str],
    db: Any,
    redis: Any,
    changes: dict[str, Any],
    field: str,
) -> None:
    if changes.get("category_id") == "parent":
        changes["category_id"] = catalogue.categories["电饭煲(2)"]
    if changes.get("category_id") == "top":
        changes["category_id"] = str(catalogue.categories["个护健康"])
    if changes.get("spu_id") == "other-category":
        changes["spu_id"] = catalogue.spus["haier"]
    client.http.get("/home/")
    before = snapshot(db)
    for method, path in (
        (post_json, "/meiduo_admin/skus/"),
        (put_json, f"/meiduo_admin/skus/{catalogue.skus['cooker']}/"),
    ):
        response = method(client, path, new_sku(catalogue, **changes), staff_headers)
        assert response.status_code == 400, response.body
        assert list(json.loads(response.body)) == [field]
    assert snapshot(db) == before
    assert redis.exists("catalog:home")


@pytest.mark.parametrize(
    "case",
    ["one missing", "none", "of another spec", "deleted option", "twice", "extra spec"],
)
def test_choices_must_be_one_live_option_of_each_specification(
    client: Any,
    catalogue: Catalogue,
    variants: Variants,
    staff_headers: dict[str, str],
    db: Any,
    case: str,
) -> None:
    v = variants
    with transaction() as conn:
        gone = factories.option(conn, v.color, "金色", is_deleted=True)
        other_spec = factories.spec(conn, catalogue.spus["haier"], "功率")
    choices = {
        "one missing": [{"spec_id": v.color, "option_id": v.black}],
        "none": [],
        "of another spec": [
            {"spec_id": v.color, "option_id": v.l470},
            {"spec_id": v.size, "option_id": v.l470},
        ],
        "deleted option": [
            {"spec_id": v.color, "option_id": gone},
            {"spec_id": v.size, "option_id": v.l470},
        ],
        "twice": [
            {"spec_id": v.color, "option_id": v.black},
            {"spec_id": v.color, "option_id": v.white},
            {"spec_id": v.size, "option_id": v.l470},
        ],
        "extra spec": [
            {"spec_id": v.color, "option_id": v.black},
            {"spec_id": v.size, "option_id": v.l470},
            {"spec_id": other_spec, "option_id": v.l470},
        ],
    }[case]
    before = snapshot(db)
    for method, path in (
        (post_json, "/meiduo_admin/skus/"),
        (put_json, f"/meiduo_admin/skus/{v.sku}/"),
    ):
        response = method(client, path, console_sku(catalogue, v, specs=choices), staff_headers)
        assert response.status_code == 400, response.body
        assert list(json.loads(response.body)) == ["specs"]
    assert snapshot(db) == before


def test_missing_fields_are_named(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    response = post_json(client, "/meiduo_admin/skus/", {}, staff_headers)
    assert response.status_code == 400
    assert sorted(json.loads(response.body)) == ["category_id", "name", "price", "stock"]


def test_update_replaces_fields_and_choices(
    client: Any, catalogue: Catalogue, variants: Variants, staff_headers: dict[str, str]
) -> None:
    body = console_sku(catalogue, variants, name="海尔二代 黑色 新款", stock="0", price="4299.00")
    response = put_json(client, f"/meiduo_admin/skus/{variants.sku}/", body, staff_headers)
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {
        "id": variants.sku,
        "name": "海尔二代 黑色 新款",
        "caption": "黑色款",
        "price": "4299.00",
        "cost_price": "3000.00",
        "market_price": "4599.00",
        "stock": 0,
        "sales": 0,
        "category": "冰箱",
        "category_id": catalogue.categories["冰箱"],
        "spu_id": variants.spu,
        "is_launched": True,
        "specs": [
            {"spec_id": variants.color, "option_id": variants.black},
            {"spec_id": variants.size, "option_id": variants.l470},
        ],
    }
    again = client.http.get(f"/meiduo_admin/skus/{variants.sku}/", headers=staff_headers)
    assert json.loads(again.body) == json.loads(response.body)


def test_update_without_prices_keeps_them_and_without_spu_keeps_the_spu(
    client: Any, catalogue: Catalogue, variants: Variants, staff_headers: dict[str, str]
) -> None:
    path = f"/meiduo_admin/skus/{variants.sku}/"
    put_json(client, path, console_sku(catalogue, variants), staff_headers)
    body = console_sku(catalogue, variants, name="改名")
    for key in ("cost_price", "market_price", "spu_id"):
        del body[key]
    changed = json.loads(put_json(client, path, body, staff_headers).body)
    assert (changed["name"], changed["spu_id"]) == ("改名", variants.spu)
    assert (changed["cost_price"], changed["market_price"]) == ("3000.00", "4599.00")


def test_the_edit_dialog_round_trip_relaunches(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    old = catalogue.skus["fridge_old"]
    current = json.loads(client.http.get(f"/meiduo_admin/skus/{old}/", headers=staff_headers).body)
    current["is_launched"] = "true"
    assert put_json(client, f"/meiduo_admin/skus/{old}/", current, staff_headers).status_code == 200
    assert client.http.get(f"/skus/{old}/").status_code == 200


def test_delete_unlaunches_and_hides_it_from_the_console_and_orders_keep_it(
    client: Any,
    catalogue: Catalogue,
    staff_headers: dict[str, str],
    db: Any,
    make_user: Any,
    make_order: Any,
) -> None:
    sku = catalogue.skus["cooker"]
    order_id = make_order(make_user().id, sku)
    response = client.http.delete(f"/meiduo_admin/skus/{sku}/", headers=staff_headers)
    assert (response.status_code, response.body) == (204, b"")
    with db.begin() as conn:
        row = conn.execute(select(skus).where(skus.c.id == sku)).one()
        line = conn.execute(select(order_lines).where(order_lines.c.order_id == order_id)).one()
    assert (row.is_launched, row.is_deleted, row.name, row.sales) == (
        False,
        True,
        "美的 4升 电饭煲",
        500,
    )
    assert line.sku_id == sku
    assert client.http.get(f"/skus/{sku}/").status_code == 404
    for path in (f"/meiduo_admin/skus/{sku}/",):
        assert client.http.get(path, headers=staff_headers).status_code == 404
        assert client.http.delete(path, headers=staff_headers).status_code == 404
    listed = json.loads(client.http.get("/meiduo_admin/skus/", headers=staff_headers).body)
    simple = json.loads(client.http.get("/meiduo_admin/skus/simple/", headers=staff_headers).body)
    assert sku not in [item["id"] for item in listed["lists"]] and listed["count"] == 6
    assert sku not in [item["id"] for item in simple]


@pytest.mark.parametrize("sku_id", ["987654", "abc", "-3"])
def test_unknown_skus_are_404(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any, sku_id: str
) -> None:
    before = snapshot(db)
    path = f"/meiduo_admin/skus/{sku_id}/"
    assert client.http.get(path, headers=staff_headers).status_code == 404
    assert put_json(client, path, new_sku(catalogue), staff_headers).status_code == 404
    assert client.http.delete(path, headers=staff_headers).status_code == 404
    assert snapshot(db) == before
