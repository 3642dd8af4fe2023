"""The balance wallet: recharges confirmed by staff credentials, and the ledger."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import post_json
from tests.functional.orders.conftest import balance_of, row_counts

STAFF = ("counter_staff", "staff-password-1")


@pytest.fixture
def staff(make_user: Any) -> Any:
    return make_user(STAFF[0], password=STAFF[1], is_staff=True)


@pytest.fixture
def recharge_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECHARGE_ENABLED", "true")


def _recharge(client: Any, buyer: Any, amount: Any, credentials: tuple[str, str] = STAFF) -> Any:
    return post_json(
        client,
        "/user/recharges/",
        {"amount": amount, "admin_username": credentials[0], "admin_password": credentials[1]},
        headers=buyer.headers,
    )


def test_a_recharge_adds_to_the_balance_and_the_ledger(
    client: Any, make_buyer: Any, staff: Any, recharge_on: None
) -> None:
    buyer = make_buyer(balance="10.00")

    first = _recharge(client, buyer, "100.50")
    second = _recharge(client, buyer, "0.01")

    assert (first.status_code, first.json_body) == (201, {"balance": "110.50"})
    assert (second.status_code, second.json_body) == (201, {"balance": "110.51"})
    records = client.http.get("/user/balance/records/", headers=buyer.headers).json_body
    assert [
        (r["kind"], r["amount"], r["order_id"], r["balance_after"]) for r in records["lists"]
    ] == [
        ("recharge", "0.01", None, "110.51"),
        ("recharge", "100.50", None, "110.50"),
    ]
    assert records["count"] == 2
    profile = client.http.get("/user/", headers=buyer.headers).json_body
    assert profile["balance"] == "110.51"


def test_recharging_is_refused_while_it_is_switched_off(
    client: Any, buyer: Any, staff: Any
) -> None:
    response = _recharge(client, buyer, "100.00")
    assert (response.status_code, response.json_body["code"]) == (403, "recharge_disabled")
    assert balance_of(buyer.id) == 0
    assert row_counts()["balance_records"] == 0


@pytest.mark.parametrize(
    "credentials",
    [(STAFF[0], "wrong-password"), ("nobody_here", STAFF[1]), ("plain_user", "plain-password-1")],
)
def test_a_recharge_needs_a_staff_members_credentials(
    client: Any,
    buyer: Any,
    staff: Any,
    make_user: Any,
    recharge_on: None,
    credentials: tuple[str, str],
) -> None:
    make_user("plain_user", password="plain-password-1")
    response = _recharge(client, buyer, "100.00", credentials)
    assert (response.status_code, response.json_body["code"]) == (403, "bad_staff_credentials")
    assert balance_of(buyer.id) == 0
    assert row_counts()["balance_records"] == 0


def test_guessing_staff_passwords_through_recharges_is_throttled_like_logins(
    client: Any, buyer: Any, staff: Any, recharge_on: None
) -> None:
    for _ in range(5):
        assert _recharge(client, buyer, "100.00", (STAFF[0], "guess-guess")).status_code == 403

    right_password = _recharge(client, buyer, "100.00")
    login = post_json(
        client, "/meiduo_admin/authorizations/", {"username": STAFF[0], "password": STAFF[1]}
    )

    assert right_password.status_code == 429
    assert login.status_code == 429
    assert balance_of(buyer.id) == 0
    assert row_counts()["balance_records"] == 0


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "0", "1.001", 12.5, "abc"])
def test_bad_amounts_are_400(
    client: Any, buyer: Any, staff: Any, recharge_on: None, amount: Any
) -> None:
    response = _recharge(client, buyer, amount)
    assert response.status_code == 400
    assert "amount" in response.json_body
    assert balance_of(buyer.id) == 0


def test_the_balance_may_not_pass_999999999_99(
    client: Any, make_buyer: Any, staff: Any, recharge_on: None
) -> None:
    buyer = make_buyer(balance="999999999.00")

    over = _recharge(client, buyer, "1.00")
    exact = _recharge(client, buyer, "0.99")

    assert over.status_code == 400
    assert over.json_body == {"amount": ["The balance may not pass 999999999.99."]}
    assert (exact.status_code, exact.json_body) == (201, {"balance": "999999999.99"})
    assert row_counts()["balance_records"] == 1


def test_the_ledger_is_paged(client: Any, buyer: Any, staff: Any, recharge_on: None) -> None:
    for amount in ("1.00", "2.00", "3.00"):
        _recharge(client, buyer, amount)
    page = client.http.get("/user/balance/records/?page=2&pagesize=2", headers=buyer.headers)
    assert page.status_code == 200
    assert [r["amount"] for r in page.json_body["lists"]] == ["1.00"]
    assert (page.json_body["count"], page.json_body["pages"]) == (3, 2)
    assert (
        client.http.get("/user/balance/records/?page=x", headers=buyer.headers).status_code == 400
    )
