"""GET /payments/alipay/return/ and GET /orders/{order_id}/payment/status/.

Neither trusts the buyer's browser: the return query must be signed by Alipay, and an
order only becomes paid through a notify or Alipay's own answer to trade.query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.functional.payments.conftest import post_notify


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer11")


def get_return(client: Any, fields: dict[str, str]) -> Any:
    return client.http.get("/payments/alipay/return/?" + urlencode(fields))


def test_a_signed_return_for_a_paid_order_shows_its_status(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    assert post_notify(client, fake_alipay.notify(order_id, "5999.00")).body == b"success"

    response = get_return(client, fake_alipay.return_query(order_id, "5999.00"))

    assert response.status_code == 200
    assert response.json_body == {"order_id": order_id, "status": 2, "status_name": "待发货"}
    assert fake_alipay.methods_called() == []  # paid already: Alipay is not asked


def test_with_frontend_url_the_buyer_is_redirected_there(
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("FRONTEND_URL", "https://shop.example.com/pay_success.html?from=alipay")
    order_id = make_order(buyer.id, make_sku(), status=2)

    response = get_return(client, fake_alipay.return_query(order_id, "5999.00"))

    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"https://shop.example.com/pay_success.html?from=alipay&order_id={order_id}"
    )


def test_a_return_signed_by_another_key_is_400_and_changes_nothing(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.paid(order_id, "5999.00")  # even though Alipay would say it is paid
    before = shop.snapshot(order_id)

    forged = fake_alipay.return_query(order_id, "5999.00", keys=fake_alipay.wrong_keys)
    response = get_return(client, forged)

    assert response.status_code == 400
    assert response.json_body == {"non_field_errors": ["The query is not signed by Alipay."]}
    assert shop.snapshot(order_id) == before
    assert fake_alipay.methods_called() == []


def test_a_tampered_or_unsigned_return_is_400(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    tampered = fake_alipay.return_query(order_id, "5999.00")
    tampered["total_amount"] = "0.01"
    assert get_return(client, tampered).status_code == 400
    assert client.http.get("/payments/alipay/return/").status_code == 400
    assert shop.snapshot(order_id)["status"] == 1


def test_a_return_for_another_app_is_400(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fields = fake_alipay.return_query(order_id, "5999.00")
    fields.pop("sign")
    fields.pop("sign_type")
    fields["app_id"] = "2021000000009999"
    response = get_return(client, fake_alipay.signed(fields))
    assert response.status_code == 400
    assert response.json_body == {
        "non_field_errors": ["The query is not for this shop's Alipay app."]
    }


def test_a_signed_return_for_an_unknown_order_is_404(
    client: Any, fake_alipay: Any, db: Any
) -> None:
    response = get_return(
        client, fake_alipay.return_query("20990101000000000000000000000002", "1.00")
    )
    assert response.status_code == 404


def test_a_return_before_the_notify_settles_through_alipays_answer(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    # given an unpaid order that Alipay says is paid (the notify has not come yet)
    sku_id = make_sku(stock=2)
    order_id = make_order(buyer.id, sku_id)
    fake_alipay.paid(order_id, "5999.00", trade_no="T700")
    # when the buyer comes back
    response = get_return(client, fake_alipay.return_query(order_id, "5999.00"))
    # then the order was settled from trade.query, as the notify would have
    assert response.json_body["status"] == 2
    assert fake_alipay.methods_called() == ["alipay.trade.query"]
    after = shop.snapshot(order_id, sku_id)
    assert after["payments"] == [(order_id, "T700", 599900, "paid")]
    assert after["history"][-1] == (1, 2, "alipay")
    # and the notify arriving later is a harmless duplicate
    assert (
        post_notify(client, fake_alipay.notify(order_id, "5999.00", trade_no="T700")).body
        == b"success"
    )
    assert shop.snapshot(order_id, sku_id) == after


def test_the_return_query_alone_never_marks_an_order_paid(
    client: Any, fake_alipay: Any, shop: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.waiting(order_id, "5999.00")  # Alipay: not paid

    response = get_return(client, fake_alipay.return_query(order_id, "5999.00"))

    assert response.json_body["status"] == 1
    assert shop.snapshot(order_id)["payments"] == []


def test_a_return_while_alipay_is_down_shows_the_order_as_it_is(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.mode = "garbage"

    response = get_return(client, fake_alipay.return_query(order_id, "5999.00"))

    assert response.status_code == 200
    assert response.json_body["status"] == 1


# --- GET /orders/{order_id}/payment/status/ ---------------------------------------------


def status_of(client: Any, order_id: str, headers: dict[str, str]) -> Any:
    return client.http.get(f"/orders/{order_id}/payment/status/", headers=headers)


def test_status_asks_alipay_while_unpaid_and_settles(
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    headers = auth_headers(buyer)
    fake_alipay.waiting(order_id, "5999.00")
    assert status_of(client, order_id, headers).json_body == {
        "order_id": order_id,
        "status": 1,
        "status_name": "待支付",
    }
    fake_alipay.paid(order_id, "5999.00", trade_no="T800")
    assert status_of(client, order_id, headers).json_body["status"] == 2
    assert shop.snapshot(order_id)["payments"] == [(order_id, "T800", 599900, "paid")]
    # once paid, Alipay is not asked again
    assert status_of(client, order_id, headers).json_body["status"] == 2
    assert fake_alipay.methods_called() == ["alipay.trade.query", "alipay.trade.query"]


def test_status_of_a_trade_alipay_does_not_know_is_unpaid(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    assert status_of(client, order_id, auth_headers(buyer)).json_body["status"] == 1


def test_status_of_a_balance_order_does_not_ask_alipay(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku(), pay_method="balance")
    assert status_of(client, order_id, auth_headers(buyer)).json_body["status"] == 1
    assert fake_alipay.methods_called() == []


def test_status_is_404_for_other_users_and_unknown_orders(
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    make_user: Any,
    auth_headers: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.paid(order_id, "5999.00")
    other = auth_headers(make_user("other11"))
    assert status_of(client, order_id, other).status_code == 404
    assert status_of(client, "20990101000000000000000000000003", other).status_code == 404
    assert status_of(client, "not-an-order", other).status_code == 404
    assert status_of(client, order_id, {}).status_code == 401
    assert fake_alipay.methods_called() == []
    assert shop.snapshot(order_id)["status"] == 1


@pytest.mark.parametrize("mode", ["garbage", "unsigned", "wrong_key"])
def test_status_is_503_when_alipays_answer_cannot_be_trusted(
    mode: str,
    client: Any,
    fake_alipay: Any,
    shop: Any,
    buyer: Any,
    make_sku: Any,
    make_order: Any,
    auth_headers: Any,
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.paid(order_id, "5999.00")
    fake_alipay.mode = mode

    response = status_of(client, order_id, auth_headers(buyer))

    assert response.status_code == 503
    assert response.json_body["code"] == "service_unavailable"
    assert shop.snapshot(order_id)["status"] == 1


def test_status_is_503_when_alipay_is_unreachable(
    client: Any, fake_alipay: Any, buyer: Any, make_sku: Any, make_order: Any, auth_headers: Any
) -> None:
    order_id = make_order(buyer.id, make_sku())
    fake_alipay.stop()

    response = status_of(client, order_id, auth_headers(buyer))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
