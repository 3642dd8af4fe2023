"""POST /orders/{order_id}/payment/ for an Alipay order: the signed page pay URL."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.alipay import signing_text
from tests.functional.payments.conftest import APP_ID

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer21")


@pytest.fixture
def new_york_clock() -> Any:
    """The process's local time zone is New York's (the SDK would stamp that)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


def pay_url_params(
    client: Any, order_id: str, headers: dict[str, str]
) -> tuple[str, dict[str, str]]:
    response = client.http.post(f"/orders/{order_id}/payment/", headers=headers)
    assert response.status_code == 200, response.body
    url = response.json_body["pay_url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(parse_qsl(parts.query))


def test_the_pay_url_is_a_signed_page_pay_request_ending_with_the_order(
    client: Any,
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
    key_pairs: Any,
) -> None:
    # given an unpaid order of 2 x 5999.00 + 10.00 freight with 20 minutes left
    order_id = make_order(
        buyer.id, make_sku(), count=2, freight=1000, expires_in=timedelta(minutes=20)
    )
    # when the buyer asks to pay it
    gateway, params = pay_url_params(client, order_id, auth_headers(buyer))
    # then the URL is Alipay's gateway with a page pay request signed by the app's key
    assert gateway == fake_alipay.url
    assert key_pairs.app.verifies(signing_text(params, exclude=("sign",)), params["sign"])
    assert params["app_id"] == APP_ID
    assert params["method"] == "alipay.trade.page.pay"
    assert params["sign_type"] == "RSA2"
    assert params["charset"] == "utf-8"
    assert params["notify_url"] == "http://127.0.0.1:8000/payments/alipay/notify/"
    assert params["return_url"] == "http://127.0.0.1:8000/payments/alipay/return/"
    biz = json.loads(params["biz_content"])
    assert biz["out_trade_no"] == order_id
    assert biz["total_amount"] == "12008.00"
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert biz["subject"] == f"家电之选订单 {order_id}"
    assert biz["timeout_express"] == "19m"  # whole minutes left (a few ms have passed)
    expire = datetime.strptime(biz["time_expire"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    assert timedelta(minutes=19) < expire - datetime.now(BEIJING) <= timedelta(minutes=20)


def test_the_request_is_stamped_in_beijing_time_whatever_the_local_zone(
    client: Any,
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
    new_york_clock: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    _, params = pay_url_params(client, order_id, auth_headers(buyer))
    stamped = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    assert abs(stamped - datetime.now(BEIJING)) < timedelta(seconds=5)
    # and so are the server calls (trade.query)
    client.http.get(f"/orders/{order_id}/payment/status/", headers=auth_headers(buyer))
    (query,) = fake_alipay.requests
    stamped = datetime.strptime(query["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    assert abs(stamped - datetime.now(BEIJING)) < timedelta(seconds=5)
    assert query["valid"] is True


def test_api_base_url_sets_where_alipay_calls_back(
    client: Any,
    fake_alipay: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("API_BASE_URL", "https://api.example.com/api/")
    order_id = make_order(buyer.id, make_sku())
    _, params = pay_url_params(client, order_id, auth_headers(buyer))
    assert params["notify_url"] == "https://api.example.com/api/payments/alipay/notify/"
    assert params["return_url"] == "https://api.example.com/api/payments/alipay/return/"


def test_less_than_a_minute_left_is_too_late_to_pay(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku(), expires_in=timedelta(seconds=40))
    response = client.http.post(f"/orders/{order_id}/payment/", headers=auth_headers(buyer))
    assert response.status_code == 409
    assert response.json_body["code"] == "invalid_status"
