"""Admin catalogue management under /meiduo_admin/skus/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.db.tables import sku_specs, skus, spus
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
            conn.execute(select(sku_specs).order_by(sku_specs.c.id)).all(),
            conn.scalar(select(func.count()).select_from(spus)),
        )


def new_sku(catalogue: Catalogue, **changes: Any) -> dict[str, Any]:
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


def test_simple_list_and_leaf_categories(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    simple = json.loads(client.http.get("/meiduo_admin/skus/simple/", headers=staff_headers).body)
    assert [item["id"] for item in simple] == sorted(catalogue.skus.values())  # unlaunched too
    assert simple[0] == {"id": catalogue.skus["fridge_silver"], "name": "海尔 470升 星蕴银 冰箱"}
    leaves = json.loads(
        client.http.get("/meiduo_admin/skus/categories/", headers=staff_headers).body
    )
    c = catalogue.categories
    # 个护健康 has no children: a leaf too, so SKUs can be filed there
    assert leaves == [
        {"id": c["冰箱"], "name": "冰箱"},
        {"id": c["电饭煲"], "name": "电饭煲"},
        {"id": c["洗衣机"], "name": "洗衣机"},
        {"id": c["个护健康"], "name": "个护健康"},
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
        "stock": 10,
        "sales": 120,
        "category_id": catalogue.categories["冰箱"],
        "spu_id": catalogue.spus["haier"],
        "is_launched": True,
        "specs": {"颜色": "星蕴银", "容量": "470升"},
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


def test_create_with_a_new_spu(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any
) -> None:
    response = post_json(client, "/meiduo_admin/skus/", new_sku(catalogue), staff_headers)
    assert response.status_code == 201
    body = json.loads(response.body)
    assert body == {
        "id": body["id"],
        "name": "美的 5升 电饭煲 MB-50",
        "caption": "IH加热 24小时预约",
        "price": "499.00",
        "stock": 30,
        "sales": 0,
        "category_id": catalogue.categories["电饭煲"],
        "spu_id": body["spu_id"],
        "is_launched": True,
        "specs": {"容量": "5升", "颜色": "白色"},
    }
    assert body["spu_id"] not in catalogue.spus.values()
    with db.begin() as conn:
        spu = conn.execute(select(spus).where(spus.c.id == body["spu_id"])).one()
    assert (spu.name, spu.category3_id) == ("美的 5升 电饭煲 MB-50", catalogue.categories["电饭煲"])
    detail = json.loads(client.http.get(f"/skus/{body['id']}/").body)
    assert detail["price"] == "499.00" and detail["specs"] == {"容量": "5升", "颜色": "白色"}


def test_create_in_an_existing_spu_becomes_a_variant(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    body = new_sku(
        catalogue,
        name="海尔 470升 月光白 冰箱",
        category_id=catalogue.categories["冰箱"],
        spu_id=catalogue.spus["haier"],
        specs={"颜色": "月光白", "容量": "470升"},
    )
    created = json.loads(post_json(client, "/meiduo_admin/skus/", body, staff_headers).body)
    detail = json.loads(client.http.get(f"/skus/{catalogue.skus['fridge_silver']}/").body)
    assert {"id": created["id"], "specs": {"颜色": "月光白", "容量": "470升"}} in detail["variants"]


def test_create_unlaunched_is_hidden_from_the_storefront(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    created = json.loads(
        post_json(
            client, "/meiduo_admin/skus/", new_sku(catalogue, is_launched=False), staff_headers
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
        ({"stock": -1}, "stock"),
        ({"stock": "5"}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"category_id": 987654}, "category_id"),
        ({"category_id": "x"}, "category_id"),
        ({"category_id": "parent"}, "category_id"),
        ({"spu_id": 987654}, "spu_id"),
        ({"spu_id": "other-category"}, "category_id"),
        ({"specs": {"颜色": ""}}, "specs.颜色"),
        ({"specs": {"x" * 21: "v"}}, "specs.xxxxxxxxxxxxxxxxxxxxx.[key]"),
        ({"specs": ["颜色"]}, "specs"),
        ({"is_launched": "yes"}, "is_launched"),
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
        changes["category_id"] = catalogue.categories["大家电"]
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


def test_missing_fields_are_named(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    response = post_json(client, "/meiduo_admin/skus/", {}, staff_headers)
    assert response.status_code == 400
    assert sorted(json.loads(response.body)) == ["category_id", "name", "price", "stock"]


def test_update_replaces_fields_and_specs_and_keeps_the_spu(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    sku = catalogue.skus["fridge_grey"]
    body = new_sku(
        catalogue,
        name="海尔 470升 玄青灰 冰箱 新款",
        category_id=catalogue.categories["冰箱"],
        price="6299.00",
        stock=0,
        specs={"颜色": "玄青灰"},
    )
    response = put_json(client, f"/meiduo_admin/skus/{sku}/", body, staff_headers)
    assert response.status_code == 200
    assert json.loads(response.body) == {
        "id": sku,
        "name": "海尔 470升 玄青灰 冰箱 新款",
        "caption": "IH加热 24小时预约",
        "price": "6299.00",
        "stock": 0,
        "sales": 80,
        "category_id": catalogue.categories["冰箱"],
        "spu_id": catalogue.spus["haier"],
        "is_launched": True,
        "specs": {"颜色": "玄青灰"},
    }
    again = json.loads(client.http.get(f"/meiduo_admin/skus/{sku}/", headers=staff_headers).body)
    assert again == json.loads(response.body)


def test_update_can_relaunch(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    old = catalogue.skus["fridge_old"]
    current = json.loads(client.http.get(f"/meiduo_admin/skus/{old}/", headers=staff_headers).body)
    current["is_launched"] = True
    assert put_json(client, f"/meiduo_admin/skus/{old}/", current, staff_headers).status_code == 200
    assert client.http.get(f"/skus/{old}/").status_code == 200


def test_delete_unlaunches_and_is_repeatable(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str], db: Any
) -> None:
    sku = catalogue.skus["cooker"]
    for _ in range(2):
        response = client.http.delete(f"/meiduo_admin/skus/{sku}/", headers=staff_headers)
        assert (response.status_code, response.body) == (204, b"")
    with db.begin() as conn:
        row = conn.execute(select(skus).where(skus.c.id == sku)).one()
    assert (row.is_launched, row.name, row.sales) == (False, "美的 4升 电饭煲", 500)
    assert client.http.get(f"/skus/{sku}/").status_code == 404


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
