"""Pure rules of the Alipay adapter and the notify check (no network, no database)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters.alipay import (
    AlipaySettings,
    Trade,
    alipay_time,
    build_client,
    pem_key,
)
from chalicelib.config import ConfigError
from chalicelib.services.payments import NotifyRejected, verified_alipay_notify
from tests.fakes.alipay import FakeAlipay, KeyPair

APP_ID = "2021004100000009"


@pytest.fixture(scope="module")
def keys() -> SimpleNamespace:
    return SimpleNamespace(
        app=KeyPair.generate(), alipay=KeyPair.generate(), wrong=KeyPair.generate()
    )


@pytest.fixture(scope="module")
def alipay(keys: SimpleNamespace) -> Any:
    return build_client(
        AlipaySettings(
            app_id=APP_ID,
            gateway="http://127.0.0.1:9/gateway.do",
            app_private_key=keys.app.private_pem,
            alipay_public_key=pem_key(keys.alipay.public_base64, "PUBLIC KEY"),
            simulated=False,
        )
    )


@pytest.fixture(scope="module")
def fake(keys: SimpleNamespace) -> FakeAlipay:
    return FakeAlipay(
        app_id=APP_ID, app_keys=keys.app, alipay_keys=keys.alipay, wrong_keys=keys.wrong
    )


@pytest.fixture
def local_zone_los_angeles() -> Iterator[None]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    yield
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


def test_alipay_time_is_beijing_time_whatever_the_local_zone(local_zone_los_angeles: None) -> None:
    assert alipay_time(datetime(2024, 5, 1, 16, 30, 5, tzinfo=UTC)) == "2024-05-02 00:30:05"
    assert time.strftime("%Z") in {"PDT", "PST"}  # the process really is elsewhere


def test_a_pem_key_is_kept(keys: SimpleNamespace) -> None:
    assert pem_key(keys.alipay.public_pem, "PUBLIC KEY") == keys.alipay.public_pem.strip() + "\n"


def test_a_console_base64_key_is_wrapped_in_pem_lines(keys: SimpleNamespace) -> None:
    pasted = "  " + keys.alipay.public_base64[:100] + "\n " + keys.alipay.public_base64[100:] + " "
    wrapped = pem_key(pasted, "PUBLIC KEY")
    lines = wrapped.strip().splitlines()
    assert lines[0] == "-----BEGIN PUBLIC KEY-----"
    assert lines[-1] == "-----END PUBLIC KEY-----"
    assert all(len(line) == 64 for line in lines[1:-2])
    assert wrapped == keys.alipay.public_pem.strip() + "\n"


def test_text_that_is_not_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        pem_key("not a key!", "PUBLIC KEY")


def test_paid_trade_statuses() -> None:
    def trade(status: str) -> Trade:
        return Trade("1", "2", status, "1.00", {})

    assert [trade(s).is_paid for s in ("TRADE_SUCCESS", "TRADE_FINISHED")] == [True, True]
    assert [trade(s).is_paid for s in ("WAIT_BUYER_PAY", "TRADE_CLOSED")] == [False, False]


def test_verify_leaves_the_fields_as_they_were(alipay: Any, fake: FakeAlipay) -> None:
    fields = fake.notify("20240501000000000000000000000031", "1.00")
    copy = dict(fields)
    assert alipay.verify(fields) is True
    assert fields == copy


def test_a_good_notify_becomes_a_report_in_fen(alipay: Any, fake: FakeAlipay) -> None:
    fields = fake.notify("20240501000000000000000000000032", "5999.01", trade_no="T1")
    report = verified_alipay_notify(alipay, fields)
    assert (report.out_trade_no, report.trade_no, report.amount) == (
        "20240501000000000000000000000032",
        "T1",
        599901,
    )
    assert report.notify_id == fields["notify_id"]
    assert '"sign":' not in report.raw
    assert '"trade_no": "T1"' in report.raw


def reason(alipay: Any, fields: dict[str, str]) -> str:
    with pytest.raises(NotifyRejected) as refused:
        verified_alipay_notify(alipay, fields)
    return refused.value.reason


def test_the_signature_is_checked_before_anything_else(alipay: Any, fake: FakeAlipay) -> None:
    forged = fake.notify(
        "x", "abc", app_id="someone-else", trade_status="WAIT_BUYER_PAY", keys=fake.wrong_keys
    )
    assert "signature" in reason(alipay, forged)


def test_then_app_id_then_status_then_ids_then_amount(alipay: Any, fake: FakeAlipay) -> None:
    order_id = "20240501000000000000000000000033"
    assert "app_id" in reason(
        alipay, fake.notify(order_id, "1.00", app_id="2021", trade_status="WAIT_BUYER_PAY")
    )
    assert "trade_status" in reason(
        alipay, fake.notify(order_id, "abc", trade_status="WAIT_BUYER_PAY")
    )
    assert "out_trade_no" in reason(alipay, fake.notify("9" * 33, "abc"))
    assert "trade_no" in reason(alipay, fake.notify(order_id, "abc", trade_no=""))
    assert "total_amount" in reason(alipay, fake.notify(order_id, "1.005"))
    assert "total_amount" in reason(alipay, fake.notify(order_id, "-1.00"))
    assert "total_amount" in reason(alipay, fake.notify(order_id, "0.00"))


def test_the_simulator_signs_as_alipay_does(keys: SimpleNamespace) -> None:
    """Cross-check with an independent implementation (cryptography, not pycryptodomex)."""
    from chalicelib.adapters.alipay import SimulatorKeys
    from chalicelib.adapters.alipay_simulator import alipay_signed

    simulator_keys = SimulatorKeys(
        app_private_key=keys.app.private_pem,
        app_public_key=keys.app.public_pem,
        alipay_private_key=keys.alipay.private_pem,
        alipay_public_key=keys.alipay.public_pem,
    )
    fields = {"b": "2 + 2", "a": "一", "out_trade_no": "1"}
    signed = alipay_signed(fields, simulator_keys)
    assert signed["sign_type"] == "RSA2"
    assert keys.alipay.verifies("a=一&b=2 + 2&out_trade_no=1", signed["sign"])
