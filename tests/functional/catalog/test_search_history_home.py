"""Search, browsing history and the cached home page."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.services import catalog
from tests.conftest import post_json, put_json
from tests.functional.catalog.conftest import Catalogue


def search(client: Any, q: str, extra: str = "") -> tuple[int, Any]:
    response = client.http.get(f"/search/?q={quote(q)}{extra}")
    return response.status_code, json.loads(response.body)


def keys_of(catalogue: Catalogue, body: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in catalogue.skus.items()}
    return [by_id[item["id"]] for item in body["lists"]]


# --- search ----------------------------------------------------------------------------


def test_name_matches_come_before_caption_matches_then_by_sales(
    client: Any, catalogue: Catalogue
) -> None:
    status, body = search(client, "冰箱")
    assert status == 200
    # names containing 冰箱 by sales, then washer_10kg whose caption mentions 冰箱
    assert keys_of(catalogue, body) == ["fridge_silver", "fridge_grey", "fridge_big", "washer_10kg"]
    assert body["count"] == 4


def test_latin_text_matches_in_any_case(client: Any, catalogue: Catalogue) -> None:
    assert keys_of(catalogue, search(client, "haier")[1]) == ["fridge_big"]  # caption "Haier"
    assert keys_of(catalogue, search(client, "bcd-650")[1]) == ["fridge_big"]  # name


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ["washer_10kg", "fridge_big"]),  # "100%_Pure" in a name, "100%" in a caption
        ("100%_", ["washer_10kg"]),
        ("_", ["washer_10kg", "cooker"]),  # only rows with a real underscore
        ("%%", []),
        ("O'Brien's", ["cooker"]),
        ('"', []),
        ("\\", []),
        ("' OR 1=1 --", []),
    ],
)
def test_wildcards_and_quotes_are_plain_characters(
    client: Any, catalogue: Catalogue, q: str, expected: list[str]
) -> None:
    status, body = search(client, q)
    assert status == 200
    assert keys_of(catalogue, body) == expected
    assert body["count"] == len(expected)


def test_search_pagination_edges(client: Any, catalogue: Catalogue) -> None:
    _, second = search(client, "冰箱", "&pagesize=3&page=2")
    assert keys_of(catalogue, second) == ["washer_10kg"]
    assert (second["count"], second["pages"]) == (4, 2)
    _, past = search(client, "冰箱", "&pagesize=3&page=3")
    assert past == {"count": 4, "lists": [], "page": 3, "pages": 2, "pagesize": 3}
    _, capped = search(client, "冰箱", "&pagesize=500")
    assert capped["pagesize"] == 100


def test_unlaunched_skus_are_not_found(client: Any, catalogue: Catalogue) -> None:
    assert search(client, "老款")[1]["count"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "q"), ("?q=", "q"), ("?q=%20%20", "q"), ("?q=" + "x" * 51, "q"), ("?q=a&page=0", "page")],
)
def test_bad_search_parameters_are_400(
    client: Any, catalogue: Catalogue, query: str, field: str
) -> None:
    response = client.http.get(f"/search/{query}")
    assert response.status_code == 400
    assert list(json.loads(response.body)) == [field]


def test_fifty_characters_are_allowed(client: Any, catalogue: Catalogue) -> None:
    assert search(client, "冰" * 50)[0] == 200


# --- history ---------------------------------------------------------------------------


def test_history_is_newest_first_without_repeats_and_keeps_five(
    client: Any, catalogue: Catalogue, make_user: Any, auth_headers: Any
) -> None:
    headers = auth_headers(make_user())
    s = catalogue.skus
    viewed = [
        "fridge_silver",
        "fridge_grey",
        "fridge_silver",
        "fridge_big",
        "washer_10kg",
        "washer_8kg",
        "cooker",
    ]
    for key in viewed:
        response = post_json(client, "/browse_histories/", {"sku_id": s[key]}, headers)
        assert response.status_code == 201
        assert json.loads(response.body) == {"sku_id": s[key]}
    response = client.http.get("/browse_histories/", headers=headers)
    assert response.status_code == 200
    assert [item["id"] for item in json.loads(response.body)] == [
        s["cooker"],
        s["washer_8kg"],
        s["washer_10kg"],
        s["fridge_big"],
        s["fridge_silver"],
    ]


def test_history_is_per_user_and_hides_skus_unlaunched_since(
    client: Any,
    catalogue: Catalogue,
    make_user: Any,
    auth_headers: Any,
    staff_headers: dict[str, str],
) -> None:
    alice, bob = auth_headers(make_user()), auth_headers(make_user())
    s = catalogue.skus
    post_json(client, "/browse_histories/", {"sku_id": s["cooker"]}, alice)
    post_json(client, "/browse_histories/", {"sku_id": s["washer_8kg"]}, alice)
    client.http.delete(f"/meiduo_admin/skus/{s['washer_8kg']}/", headers=staff_headers)
    body = json.loads(client.http.get("/browse_histories/", headers=alice).body)
    assert [item["id"] for item in body] == [s["cooker"]]
    assert json.loads(client.http.get("/browse_histories/", headers=bob).body) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sku_id": "fridge_old"}, 404),
        ({"sku_id": 987654}, 404),
        ({"sku_id": "1"}, 400),
        ({"sku_id": 0}, 400),
        ({"sku_id": 10**30}, 400),
        ({}, 400),
    ],
)
def test_recording_a_missing_or_bad_sku_changes_nothing(
    client: Any,
    catalogue: Catalogue,
    make_user: Any,
    auth_headers: Any,
    redis: Any,
    body: dict[str, Any],
    status: int,
) -> None:
    headers = auth_headers(make_user())
    if body.get("sku_id") == "fridge_old":
        body = {"sku_id": catalogue.skus["fridge_old"]}
    response = post_json(client, "/browse_histories/", body, headers)
    assert response.status_code == status
    if status == 400:
        assert list(json.loads(response.body)) == ["sku_id"]
    assert redis.keys("history:*") == []


def test_history_needs_a_login(client: Any, catalogue: Catalogue) -> None:
    assert client.http.get("/browse_histories/").status_code == 401
    sku = catalogue.skus["cooker"]
    assert post_json(client, "/browse_histories/", {"sku_id": sku}).status_code == 401


# --- home ------------------------------------------------------------------------------


def test_home_shows_visible_banners_and_best_seller_floors(
    client: Any, catalogue: Catalogue
) -> None:
    s, c = catalogue.skus, catalogue.categories
    response = client.http.get("/home/")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["banners"] == [
        {
            "id": catalogue.banners["开学季"],
            "title": "开学季",
            "image": "http://testserver/media/bb/b2.jpg",
            "sku_id": None,
        },
        {
            "id": catalogue.banners["冰箱节"],
            "title": "冰箱节",
            "image": "http://testserver/media/bb/b1.jpg",
            "sku_id": s["fridge_silver"],
        },
    ]  # hidden banner and the one for an unlaunched SKU left out
    assert [floor["category"] for floor in body["floors"]] == [
        {"id": c["大家电"], "name": "大家电"},
        {"id": c["厨房小电"], "name": "厨房小电"},
    ]  # the empty 个护健康 has no floor
    assert [item["id"] for item in body["floors"][0]["skus"]] == [
        s["washer_10kg"],
        s["fridge_silver"],
        s["fridge_grey"],
        s["washer_8kg"],
        s["fridge_big"],
    ]
    assert body["floors"][1]["skus"] == [
        {
            "id": s["cooker"],
            "name": "美的 4升 电饭煲",
            "price": "399.00",
            "image": None,
            "sales": 500,
            "comments": 200,
        }
    ]


def test_home_is_cached_until_an_admin_change(
    client: Any, catalogue: Catalogue, db: Any, redis: Any, staff_headers: dict[str, str]
) -> None:
    from chalicelib.db.tables import skus

    first = json.loads(client.http.get("/home/").body)
    assert redis.exists(catalog.HOME_CACHE_KEY)
    cooker = catalogue.skus["cooker"]
    with db.begin() as conn:  # a change behind the admin API's back is not seen yet
        conn.execute(skus.update().where(skus.c.id == cooker).values(name="改名的电饭煲"))
    assert json.loads(client.http.get("/home/").body) == first

    admin_body = json.loads(
        client.http.get(f"/meiduo_admin/skus/{cooker}/", headers=staff_headers).body
    )
    admin_body.update(name="美的 5升 电饭煲", price="459.00")
    assert (
        put_json(client, f"/meiduo_admin/skus/{cooker}/", admin_body, staff_headers).status_code
        == 200
    )
    refreshed = json.loads(client.http.get("/home/").body)
    assert refreshed["floors"][1]["skus"][0]["name"] == "美的 5升 电饭煲"
    assert refreshed["floors"][1]["skus"][0]["price"] == "459.00"

    assert (
        client.http.delete(f"/meiduo_admin/skus/{cooker}/", headers=staff_headers).status_code
        == 204
    )
    after_delete = json.loads(client.http.get("/home/").body)
    assert [f["category"]["name"] for f in after_delete["floors"]] == ["大家电"]


def test_creating_a_sku_refreshes_the_home_page(
    client: Any, catalogue: Catalogue, staff_headers: dict[str, str]
) -> None:
    client.http.get("/home/")
    created = post_json(
        client,
        "/meiduo_admin/skus/",
        {
            "name": "新品电饭煲",
            "price": "199.00",
            "stock": 5,
            "category_id": catalogue.categories["电饭煲"],
        },
        staff_headers,
    )
    assert created.status_code == 201
    body = json.loads(client.http.get("/home/").body)
    kitchen = body["floors"][1]["skus"]
    assert json.loads(created.body)["id"] in [item["id"] for item in kitchen]
