"""A SKU deleted by staff (is_deleted) is gone from the whole storefront, launched or not."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import update

from chalicelib.db.tables import skus
from tests.conftest import post_json
from tests.functional.catalog.conftest import Catalogue


def delete_sku(db: Any, sku_id: int) -> None:
    """As the console's delete leaves it, except that it stays launched: the storefront
    must not rely on deletion unlaunching."""
    with db.begin() as conn:
        conn.execute(update(skus).where(skus.c.id == sku_id).values(is_deleted=True))


def ids(client: Any, path: str, headers: dict[str, str] | None = None) -> list[int]:
    response = client.http.get(path, headers=headers or {})
    assert response.status_code == 200, (path, response.body)
    body = json.loads(response.body)
    return [item["id"] for item in (body["lists"] if isinstance(body, dict) else body)]


def test_a_deleted_sku_vanishes_from_lists_search_detail_and_variants(
    client: Any, catalogue: Catalogue, db: Any
) -> None:
    s, c = catalogue.skus, catalogue.categories
    grey = s["fridge_grey"]
    delete_sku(db, grey)
    assert grey not in ids(client, "/skus/?pagesize=100")
    assert ids(client, f"/skus/?category={c['冰箱']}&ordering=price") == [
        s["fridge_silver"],
        s["fridge_big"],
    ]
    assert ids(client, f"/skus/?brand={catalogue.brands['haier']}&ordering=price") == [
        s["fridge_silver"],
        s["fridge_big"],
    ]
    assert ids(client, f"/search/?q={quote('玄青灰')}") == []
    assert grey not in ids(client, f"/search/?q={quote('冰箱')}&pagesize=100")
    for path in (f"/skus/{grey}/", f"/skus/{grey}/comments/"):
        response = client.http.get(path)
        assert (response.status_code, json.loads(response.body)["code"]) == (404, "not_found")
    detail = json.loads(client.http.get(f"/skus/{s['fridge_silver']}/").body)
    assert [v["id"] for v in detail["variants"]] == [s["fridge_silver"], s["fridge_big"]]


def test_a_deleted_sku_leaves_the_home_page(client: Any, catalogue: Catalogue, db: Any) -> None:
    silver = catalogue.skus["fridge_silver"]
    delete_sku(db, silver)
    body = json.loads(client.http.get("/home/").body)
    assert [banner["title"] for banner in body["banners"]] == ["开学季"]  # 冰箱节 led to it
    assert silver not in [item["id"] for floor in body["floors"] for item in floor["skus"]]


def test_a_deleted_sku_leaves_history_and_cannot_be_added(
    client: Any, catalogue: Catalogue, db: Any, make_user: Any, auth_headers: Any, redis: Any
) -> None:
    s = catalogue.skus
    headers = auth_headers(make_user())
    for sku in (s["cooker"], s["washer_8kg"]):
        assert post_json(client, "/browse_histories/", {"sku_id": sku}, headers).status_code == 201
    delete_sku(db, s["washer_8kg"])
    assert ids(client, "/browse_histories/", headers) == [s["cooker"]]
    response = post_json(client, "/browse_histories/", {"sku_id": s["washer_8kg"]}, headers)
    assert response.status_code == 404
    response = post_json(client, "/cart/", {"sku_id": s["washer_8kg"], "count": 1}, headers)
    assert (response.status_code, json.loads(response.body)["code"]) == (404, "not_found")
    assert redis.keys("cart:*") == []
