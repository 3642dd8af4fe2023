"""Every list reads its query string through one model: an integer parameter written with
anything but ASCII digits ("²", "①", "１２", " 1", "+1") is a 400 naming it (the first two
were 500s, "１２" was read as 12), and a path id that is not one is a 404 (no lookup).
One family of lists per test."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

NOT_ASCII_INTEGERS = ["²", "①", "１２", " 1", "+1", "1_0", "-1", "1.0"]
INVALID = ["A valid integer is required."]


@pytest.fixture
def shopper(make_user: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(make_user()))


@pytest.fixture
def staff(make_user: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(make_user(is_staff=True, is_superuser=True)))


def get(client: Any, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = client.http.get(path, headers=headers or {})
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
@pytest.mark.parametrize("param", ["page", "pagesize", "category"])
def test_storefront_sku_list(client: Any, redis: Any, param: str, value: str) -> None:
    status, body = get(client, f"/skus/?{param}={quote(value)}")

    assert (status, body) == (400, {param: INVALID})
    assert redis.keys("stats:*") == []  # no category view was counted


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
def test_search_and_comments(client: Any, value: str) -> None:
    assert get(client, f"/search/?q=x&page={quote(value)}") == (400, {"page": INVALID})
    assert get(client, f"/skus/1/comments/?pagesize={quote(value)}") == (
        400,
        {"pagesize": INVALID},
    )


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
@pytest.mark.parametrize("param", ["page", "status"])
def test_my_orders_and_balance_records(
    client: Any, shopper: dict[str, str], param: str, value: str
) -> None:
    assert get(client, f"/orders/?{param}={quote(value)}", shopper) == (400, {param: INVALID})
    assert get(client, f"/user/balance/records/?page={quote(value)}", shopper) == (
        400,
        {"page": INVALID},
    )


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
@pytest.mark.parametrize(
    "path",
    [
        "/meiduo_admin/users/?page=",
        "/meiduo_admin/skus/?pagesize=",
        "/meiduo_admin/orders/?page=",
        "/meiduo_admin/skus/images/?page=",
        "/meiduo_admin/payments/refunds/?pagesize=",
        "/meiduo_admin/statistical/sales/?days=",
    ],
)
def test_admin_lists(client: Any, staff: dict[str, str], path: str, value: str) -> None:
    param = path.rsplit("?", 1)[1].rstrip("=")

    assert get(client, path + quote(value), staff) == (400, {param: INVALID})


def test_valid_values_are_unchanged(client: Any, shopper: dict[str, str]) -> None:
    status, body = get(client, "/skus/?page=007&pagesize=1000")
    assert status == 200
    assert (body["page"], body["pagesize"]) == (7, 100)  # leading zeros read, pagesize capped
    assert get(client, "/orders/?status=&page=", shopper)[0] == 200  # empty = absent
    status, body = get(client, "/skus/?page=1000001")
    assert (status, list(body)) == (400, ["page"])


@pytest.mark.parametrize("value", ["²", "１２", "0", "1_0", "+1", "9" * 30])
def test_path_ids_that_are_not_ascii_integers_are_404(
    client: Any, shopper: dict[str, str], staff: dict[str, str], value: str
) -> None:
    segment = value  # as API Gateway hands path parameters over: decoded

    assert client.http.get(f"/skus/{segment}/").status_code == 404
    assert client.http.delete(f"/cart/{segment}/", headers=shopper).status_code == 404
    assert client.http.delete(f"/addresses/{segment}/", headers=shopper).status_code == 404
    assert client.http.get(f"/meiduo_admin/skus/{segment}/", headers=staff).status_code == 404
    assert (
        client.http.get(f"/meiduo_admin/skus/images/{segment}/", headers=staff).status_code == 404
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/cart/", {"sku_id": 10**20}, "sku_id"),
        ("/orders/", {"address_id": 10**20, "pay_method": "balance"}, "address_id"),
        ("/browse_histories/", {"sku_id": 10**20}, "sku_id"),
    ],
)
def test_ids_in_bodies_past_any_id_are_400(
    client: Any, shopper: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    response = client.http.post(path, body=json.dumps(body), headers=shopper)

    assert response.status_code == 400  # the first two were 500s (past the database's BIGINT)
    assert list(json.loads(response.body)) == [field]


@pytest.mark.parametrize(
    ("path", "who"),
    [("/skus/?page=1&page=2", None), ("/meiduo_admin/goods/?keyword=a&page=x&page=1", "staff")],
)
def test_a_parameter_given_twice_is_a_400_naming_it(
    client: Any, staff: dict[str, str], path: str, who: str | None
) -> None:
    """Which of two values was meant is not ours to guess (the last one used to win, so
    `?page=junk&page=1` passed)."""
    status, body = get(client, path, staff if who else None)

    assert (status, body) == (400, {"page": ["Give this parameter once."]})
