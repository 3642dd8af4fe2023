"""The local Alipay simulator (no ALIPAY_GATEWAY on the local stage), in-process.

The simulator cannot call the app back inside chalice's test client (no server is
listening), so its notify is posted here by the test; the full round trip over HTTP
is in tests/integration/test_payments_flow.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.functional.payments.conftest import post_notify

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer41")


@pytest.fixture
def simulator(db: Any) -> Any:
    """The app's Alipay client in simulator mode (keys generated into SHOP_VAR_DIR)."""
    from chalicelib import resources

    alipay = resources.alipay()
    assert alipay.simulated
    return alipay


def local_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:8000"
    return parts.path + ("?" + parts.query if parts.query else "")


def gateway_call(
    simulator: Any, method: str, out_trade_no: str, *, stamp: str | None = None
) -> str:
    """A server API request signed as the SDK signs it, as a local path."""
    from chalicelib.adapters.alipay import alipay_time
    from chalicelib.clock import utcnow

    data = simulator._sdk.build_body(
        method, {"out_trade_no": out_trade_no}, timestamp=stamp or alipay_time(utcnow())
    )
    return local_path(simulator.gateway + "?" + simulator._sdk.sign_data(data))


def answer(
    client: Any, simulator: Any, method: str, out_trade_no: str, **kwargs: Any
) -> dict[str, Any]:
    response = client.http.get(gateway_call(simulator, method, out_trade_no, **kwargs))
    assert response.status_code == 200
    response_type = method.replace(".", "_") + "_response"
    # the SDK's own check: signed by the simulator's key over the exact inner JSON text
    return dict(
        simulator._sdk._verify_and_return_sync_response(response.body.decode(), response_type)
    )


def open_cashier(client: Any, buyer: Any, order_id: str, auth_headers: Any) -> Any:
    pay_url = client.http.post(
        f"/orders/{order_id}/payment/", headers=auth_headers(buyer)
    ).json_body["pay_url"]
    assert pay_url.startswith("http://127.0.0.1:8000/alipay-sim/gateway/?")
    return client.http.get(local_path(pay_url))


def test_the_cashier_shows_the_order_and_the_amount(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku(), freight=1000)
    page = open_cashier(client, buyer, order_id, auth_headers)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert order_id in text
    assert "¥6009.00" in text
    assert f"action='/alipay-sim/trades/{order_id}/pay/'" in text
    assert f"action='/alipay-sim/trades/{order_id}/cancel/'" in text
    assert (
        answer(client, simulator, "alipay.trade.query", order_id)["trade_status"]
        == "WAIT_BUYER_PAY"
    )


def test_a_tampered_page_pay_request_is_refused(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    pay_url = client.http.post(
        f"/orders/{order_id}/payment/", headers=auth_headers(buyer)
    ).json_body["pay_url"]
    params = dict(parse_qsl(urlsplit(pay_url).query))
    params["biz_content"] = params["biz_content"].replace("5999.00", "0.01")
    page = client.http.get("/alipay-sim/gateway/?" + urlencode(params))
    assert page.status_code == 400
    assert "验签出错" in page.body.decode()
    assert (
        answer(client, simulator, "alipay.trade.query", order_id)["sub_code"]
        == "ACQ.TRADE_NOT_EXIST"
    )


def test_pay_redirects_with_a_signed_return_and_its_notify_pays_the_order(
    client: Any,
    simulator: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
) -> None:
    from chalicelib import config, resources
    from chalicelib.adapters import alipay_simulator
    from chalicelib.adapters.alipay import simulator_keys

    order_id = make_order(buyer.id, make_sku())
    open_cashier(client, buyer, order_id, auth_headers)

    paid = client.http.post(
        f"/alipay-sim/trades/{order_id}/pay/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert paid.status_code == 302
    location = paid.headers["Location"]
    assert location.startswith("http://127.0.0.1:8000/payments/alipay/return/?")
    returned = dict(parse_qsl(urlsplit(location).query))
    assert simulator.verify(returned)
    assert returned["out_trade_no"] == order_id
    assert returned["total_amount"] == "5999.00"
    trade = answer(client, simulator, "alipay.trade.query", order_id)
    assert trade["trade_status"] == "TRADE_SUCCESS"
    assert trade["trade_no"] == returned["trade_no"]
    # the notify it sent (nobody listened here) is the one Alipay sends, and it verifies
    stored = json.loads(resources.redis().get(alipay_simulator.TRADE_KEY.format(order_id)))
    notify = alipay_simulator.notify_params(stored, simulator_keys(config.settings().var_dir))
    assert post_notify(client, notify).body == b"success"
    assert shop.snapshot(order_id)["payments"] == [(order_id, trade["trade_no"], 599900, "paid")]
    # paying again only redirects: no second trade, no second payment
    again = client.http.post(
        f"/alipay-sim/trades/{order_id}/pay/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 302


def test_close_then_pay_is_refused(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    open_cashier(client, buyer, order_id, auth_headers)

    closed = answer(client, simulator, "alipay.trade.close", order_id)
    assert closed["code"] == "10000"
    again = answer(client, simulator, "alipay.trade.close", order_id)
    assert (again["code"], again["sub_code"]) == ("40004", "ACQ.TRADE_STATUS_ERROR")
    assert (
        answer(client, simulator, "alipay.trade.query", order_id)["trade_status"] == "TRADE_CLOSED"
    )

    paid = client.http.post(
        f"/alipay-sim/trades/{order_id}/pay/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert paid.status_code == 409
    assert "TRADE_CLOSED" in paid.body.decode()


def test_close_of_an_unknown_trade_and_a_paid_one(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    unknown = answer(client, simulator, "alipay.trade.close", "20990101000000000000000000000009")
    assert (unknown["code"], unknown["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    order_id = make_order(buyer.id, make_sku())
    open_cashier(client, buyer, order_id, auth_headers)
    client.http.post(
        f"/alipay-sim/trades/{order_id}/pay/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    paid = answer(client, simulator, "alipay.trade.close", order_id)
    assert (paid["code"], paid["sub_code"]) == ("40004", "ACQ.TRADE_STATUS_ERROR")


def test_an_unpaid_trade_closes_at_its_time_expire(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku(), expires_in=timedelta(minutes=2))
    open_cashier(client, buyer, order_id, auth_headers)
    from chalicelib import resources
    from chalicelib.adapters import alipay_simulator

    key = alipay_simulator.TRADE_KEY.format(order_id)
    stored = json.loads(resources.redis().get(key))
    past = datetime.now(BEIJING) - timedelta(seconds=1)
    stored["time_expire"] = past.strftime("%Y-%m-%d %H:%M:%S")
    resources.redis().set(key, json.dumps(stored))
    assert (
        answer(client, simulator, "alipay.trade.query", order_id)["trade_status"] == "TRADE_CLOSED"
    )


def test_requests_stamped_in_utc_are_refused_like_alipay_does(
    client: Any, simulator: Any, db: Any
) -> None:
    utc_stamp = datetime.now(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S")
    refused = answer(
        client, simulator, "alipay.trade.query", "20990101000000000000000000000008", stamp=utc_stamp
    )
    assert (refused["code"], refused["sub_code"]) == ("40002", "isv.invalid-timestamp")


def test_a_request_signed_by_another_key_is_refused(
    client: Any, simulator: Any, key_pairs: Any
) -> None:
    path = gateway_call(simulator, "alipay.trade.query", "20990101000000000000000000000007")
    params = dict(parse_qsl(urlsplit(path).query))
    from tests.fakes.alipay import signing_text

    params["sign"] = key_pairs.wrong.sign(signing_text(params, exclude=("sign",)))
    response = client.http.get("/alipay-sim/gateway/?" + urlencode(params))
    body = simulator._sdk._verify_and_return_sync_response(
        response.body.decode(), "alipay_trade_query_response"
    )
    assert body["sub_code"] == "isv.invalid-signature"


def test_cancel_leaves_the_trade_open(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    open_cashier(client, buyer, order_id, auth_headers)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    page = client.http.post(f"/alipay-sim/trades/{order_id}/cancel/", headers=form)
    assert page.status_code == 200
    assert "still unpaid" in page.body.decode()
    assert (
        answer(client, simulator, "alipay.trade.query", order_id)["trade_status"]
        == "WAIT_BUYER_PAY"
    )
    assert (
        client.http.post(
            "/alipay-sim/trades/20990101000000000000000000000006/cancel/", headers=form
        ).status_code
        == 404
    )
    assert (
        client.http.post(
            "/alipay-sim/trades/20990101000000000000000000000006/pay/", headers=form
        ).status_code
        == 404
    )
    assert (
        client.http.post("/alipay-sim/trades/not%20a%20trade/pay/", headers=form).status_code == 404
    )


def test_the_simulator_keys_are_generated_once(simulator: Any) -> None:
    from chalicelib import config
    from chalicelib.adapters.alipay import simulator_keys

    first = simulator_keys(config.settings().var_dir)
    second = simulator_keys(config.settings().var_dir)
    assert first == second
    assert first.app_private_key != first.alipay_private_key
    folder = config.settings().var_dir / "alipay-simulator"
    assert sorted(p.name for p in folder.iterdir()) == [
        "alipay_private_key.pem",
        "app_private_key.pem",
    ]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in folder.iterdir())


def test_the_simulator_routes_do_not_exist_on_aws_stages() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    probe = "from app import app; print(sorted(p for p in app.routes if 'alipay' in p))"
    env = {**os.environ, "SHOP_STAGE": "prod"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['/payments/alipay/notify', '/payments/alipay/return']"


def refund_call(client: Any, simulator: Any, method: str, biz: dict[str, str]) -> dict[str, Any]:
    from chalicelib.adapters.alipay import alipay_time
    from chalicelib.clock import utcnow

    data = simulator._sdk.build_body(method, biz, timestamp=alipay_time(utcnow()))
    response = client.http.get(local_path(simulator.gateway + "?" + simulator._sdk.sign_data(data)))
    assert response.status_code == 200
    response_type = method.replace(".", "_") + "_response"
    return dict(
        simulator._sdk._verify_and_return_sync_response(response.body.decode(), response_type)
    )


def test_refunds_at_the_simulator_are_made_once_per_request_number(
    client: Any, simulator: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    # given a trade paid 5999.00 at the simulator
    order_id = make_order(buyer.id, make_sku(price="5999.00"))
    open_cashier(client, buyer, order_id, auth_headers)
    client.http.post(
        f"/alipay-sim/trades/{order_id}/pay/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    def refund(request_no: str, amount: str) -> dict[str, Any]:
        biz = {"out_trade_no": order_id, "out_request_no": request_no, "refund_amount": amount}
        return refund_call(client, simulator, "alipay.trade.refund", biz)

    def query(request_no: str) -> dict[str, Any]:
        biz = {"out_trade_no": order_id, "out_request_no": request_no}
        return refund_call(client, simulator, "alipay.trade.fastpay.refund.query", biz)

    first = refund("RF1", "1000.00")
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "1000.00")
    again = refund("RF1", "1000.00")  # the same request number: nothing moves
    assert (again["code"], again["fund_change"], again["refund_fee"]) == ("10000", "N", "1000.00")
    too_much = refund("RF2", "5000.00")
    assert (too_much["code"], too_much["sub_code"]) == ("40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR")
    rest = refund("RF3", "4999.00")
    assert (rest["fund_change"], rest["refund_fee"]) == ("Y", "5999.00")
    made = query("RF1")
    assert (made["refund_status"], made["refund_amount"], made["out_request_no"]) == (
        "REFUND_SUCCESS",
        "1000.00",
        "RF1",
    )
    assert "refund_status" not in query("RF2")  # refused: never made
    unknown = refund_call(
        client,
        simulator,
        "alipay.trade.refund",
        {"out_trade_no": "20990101000000000000000000000009", "refund_amount": "1.00"},
    )
    assert unknown["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_the_simulator_can_be_told_to_lose_the_next_refunds_answer(client: Any, redis: Any) -> None:
    from chalicelib.adapters.alipay_simulator import REFUND_TIMEOUT_KEY

    response = client.http.post("/alipay-sim/faults/refund-timeout/")

    assert response.status_code == 204
    assert redis.get(REFUND_TIMEOUT_KEY) == "1"
