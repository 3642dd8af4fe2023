"""The /meiduo_admin/statistical/ routes over HTTP: staff only, shapes, today's figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import shop_today, utcnow
from chalicelib.services.statistics import CATEGORY_VIEWS_KEY
from tests import factories
from tests.conftest import post_json
from tests.functional.admin_stats.conftest import SHANGHAI

STATISTICS_PATHS = [
    "/meiduo_admin/statistical/total_count/",
    "/meiduo_admin/statistical/day_active/",
    "/meiduo_admin/statistical/day_orders/",
    "/meiduo_admin/statistical/day_increment/",
    "/meiduo_admin/statistical/month_increment/",
    "/meiduo_admin/statistical/goods_day_views/",
    "/meiduo_admin/statistical/sales/",
    "/meiduo_admin/users/",
]


@pytest.mark.parametrize("path", STATISTICS_PATHS)
def test_anonymous_callers_get_401(client: Any, path: str) -> None:
    response = client.http.get(path)

    assert response.status_code == 401
    assert response.json_body["code"] == "not_authenticated"


@pytest.mark.parametrize("path", STATISTICS_PATHS)
def test_users_who_are_not_staff_get_403(
    client: Any, make_user: Any, auth_headers: Any, path: str
) -> None:
    response = client.http.get(path, headers=auth_headers(make_user()))

    assert response.status_code == 403
    assert response.json_body["code"] == "permission_denied"


def test_creating_users_needs_a_staff_token(client: Any, make_user: Any, auth_headers: Any) -> None:
    body = {"username": "newbie01", "mobile": "13900000001", "password": "pass-word-1"}

    anonymous = post_json(client, "/meiduo_admin/users/", body)
    customer = post_json(client, "/meiduo_admin/users/", body, auth_headers(make_user()))

    assert (anonymous.status_code, customer.status_code) == (401, 403)


def test_todays_single_figures(client: Any, db: Any, staff_headers: dict[str, str]) -> None:
    now = utcnow()
    today = shop_today(SHANGHAI, now).isoformat()
    with db.begin() as conn:
        buyer = factories.user(conn, date_joined=now - timedelta(days=400), last_login=now)
        factories.user(conn, date_joined=now - timedelta(days=400))
        for _ in range(3):
            factories.order(conn, buyer, create_time=now)

    figures = {
        path.split("/")[-2]: client.http.get(path, headers=staff_headers).json_body
        for path in STATISTICS_PATHS[:4]
    }

    # The staff user (who joined just now, never logged in) is a user too.
    assert figures == {
        "total_count": {"count": 3, "date": today},
        "day_active": {"count": 1, "date": today},
        "day_orders": {"count": 1, "date": today},
        "day_increment": {"count": 1, "date": today},
    }


def test_month_increment_has_30_days_ending_today(
    client: Any, staff_headers: dict[str, str]
) -> None:
    today = shop_today(SHANGHAI)

    response = client.http.get("/meiduo_admin/statistical/month_increment/", headers=staff_headers)

    assert response.status_code == 200
    assert response.json_body == [
        {"date": (today - timedelta(days=29 - i)).isoformat(), "count": 1 if i == 29 else 0}
        for i in range(30)
    ]


def test_goods_day_views_lists_todays_category_views(
    client: Any, db: Any, redis: Any, staff_headers: dict[str, str]
) -> None:
    with db.begin() as conn:
        fridges = factories.category(conn, "冰箱")
        tvs = factories.category(conn, "电视")
    key = CATEGORY_VIEWS_KEY.format(day=shop_today(SHANGHAI).isoformat())
    redis.hset(key, mapping={str(fridges): 2, str(tvs): 9})

    response = client.http.get("/meiduo_admin/statistical/goods_day_views/", headers=staff_headers)

    assert response.json_body == [
        {"category": "电视", "category_id": tvs, "count": 9},
        {"category": "冰箱", "category_id": fridges, "count": 2},
    ]


def test_sales_lists_orders_payments_and_gmv_per_day(
    client: Any, db: Any, staff_headers: dict[str, str]
) -> None:
    now = utcnow()
    today = shop_today(SHANGHAI, now)
    with db.begin() as conn:
        buyer = factories.user(conn, date_joined=now - timedelta(days=400))
        factories.order(conn, buyer, create_time=now, paid_at=now, price=599_950)
        factories.order(conn, buyer, create_time=now)

    default = client.http.get("/meiduo_admin/statistical/sales/", headers=staff_headers)
    three = client.http.get("/meiduo_admin/statistical/sales/?days=3", headers=staff_headers)

    assert len(default.json_body) == 30
    assert three.json_body == [
        {
            "date": (today - timedelta(days=2)).isoformat(),
            "orders": 0,
            "paid_orders": 0,
            "gmv": "0.00",
        },
        {
            "date": (today - timedelta(days=1)).isoformat(),
            "orders": 0,
            "paid_orders": 0,
            "gmv": "0.00",
        },
        {"date": today.isoformat(), "orders": 2, "paid_orders": 1, "gmv": "5999.50"},
    ]


@pytest.mark.parametrize("days", ["0", "367", "abc", "-1", "1.5", "99999999999"])
def test_sales_days_outside_1_to_366_is_a_400(
    client: Any, staff_headers: dict[str, str], days: str
) -> None:
    response = client.http.get(
        f"/meiduo_admin/statistical/sales/?days={days}", headers=staff_headers
    )

    assert response.status_code == 400
    assert list(response.json_body) == ["days"]


def test_sales_for_a_whole_year(client: Any, staff_headers: dict[str, str]) -> None:
    response = client.http.get("/meiduo_admin/statistical/sales/?days=366", headers=staff_headers)

    assert response.status_code == 200
    assert len(response.json_body) == 366
    assert response.json_body[-1]["date"] == shop_today(SHANGHAI).isoformat()
