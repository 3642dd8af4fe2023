"""No log line carries a secret: passwords, tokens, the JWT secret, Alipay keys or signatures.

A shopper's whole life goes through the app (register, a failed login, login, a password
change, checkout, the Alipay pay URL, a notify and a forged one, requests that fail), and
every line written to stdout (what Lambda ships to CloudWatch) is read back and searched
for each secret used on the way.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import TEST_JWT_SECRET, post_json, put_json
from tests.functional.payments.conftest import post_notify

PASSWORD = "First-Secret-Pass-1"
NEW_PASSWORD = "Second-Secret-Pass-2"
WRONG_PASSWORD = "Wrong-Guess-Pass-3"


def test_no_log_line_carries_a_password_token_key_or_signature(
    client: Any,
    fake_alipay: Any,
    key_pairs: Any,
    make_sku: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chalicelib.services import accounts

    sku = make_sku(stock=3)
    capsys.readouterr()

    # when a shopper registers, mistypes, logs in, changes the password and logs in again
    signup = post_json(client, "/users/", {"username": "sun_ba", "password": PASSWORD})
    refused = post_json(
        client, "/authorizations/", {"username": "sun_ba", "password": WRONG_PASSWORD}
    )
    first = post_json(client, "/authorizations/", {"username": "sun_ba", "password": PASSWORD})
    old_token = first.json_body["token"]
    changed = put_json(
        client,
        "/user/password/",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {old_token}"},
    )
    stale = client.http.get("/user/", headers={"Authorization": f"Bearer {old_token}"})
    second = post_json(client, "/authorizations/", {"username": "sun_ba", "password": NEW_PASSWORD})
    token = second.json_body["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    # and checks out, opens Alipay's cashier, and Alipay notifies (a forger tries too)
    post_json(client, "/cart/", {"sku_id": sku, "count": 1, "selected": True}, headers=bearer)
    address = post_json(
        client,
        "/addresses/",
        {
            "title": "家",
            "receiver": "孙八",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "place": "世纪大道100号",
            "mobile": "13900139000",
        },
        headers=bearer,
    )
    order = post_json(
        client,
        "/orders/",
        {"address_id": address.json_body["id"], "pay_method": "alipay"},
        headers=bearer,
    )
    order_id = order.json_body["order_id"]
    pay = client.http.post(f"/orders/{order_id}/payment/", headers=bearer)
    pay_sign = dict(parse_qsl(urlsplit(pay.json_body["pay_url"]).query))["sign"]
    amount = order.json_body["payment_amount"]
    forged_fields = fake_alipay.notify(order_id, amount, keys=key_pairs.wrong)
    forged = post_notify(client, forged_fields)
    notify_fields = fake_alipay.notify(order_id, amount)
    notified = post_notify(client, notify_fields)

    # and a request fails inside, with an error whose text holds a secret
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"profile load failed for password={NEW_PASSWORD} token={token}")

    monkeypatch.setattr(accounts, "get_user", broken)
    failed = client.http.get("/user/", headers=bearer)

    # then every answer was what the flow expects
    statuses = [
        signup.status_code,
        refused.status_code,
        first.status_code,
        changed.status_code,
        stale.status_code,
        second.status_code,
        order.status_code,
        pay.status_code,
        forged.body,
        notified.body,
        failed.status_code,
    ]
    assert statuses == [201, 400, 200, 204, 401, 200, 201, 200, b"failure", b"success", 500]
    # and every line on stdout is JSON: one per request, and the shop's own lines
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    requests = [line for line in lines if line["logger"] == "shop.request"]
    assert len(requests) == 13
    assert {line["logger"] for line in lines} == {"shop.request", "shop.payments", "shop.api"}
    settled = [line for line in lines if line["message"].startswith("alipay notify for ")]
    assert len(settled) == 1
    assert isinstance(settled[0]["request_id"], str) and settled[0]["request_id"]
    assert any("error" in line and "stack" in line["error"] for line in lines)
    # and no secret appears in any of them
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    private_key_body = "".join(key_pairs.app.private_pem.splitlines()[1:-1])
    secrets = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "old token": old_token,
        "token": token,
        "token's signature": token.rsplit(".", 1)[1],
        "JWT secret": TEST_JWT_SECRET,
        "app private key": private_key_body[100:160],
        "pay URL signature": pay_sign,
        "notify signature": notify_fields["sign"],
        "forged signature": forged_fields["sign"],
    }
    assert [name for name, secret in secrets.items() if secret in text] == []
