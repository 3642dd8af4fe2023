"""Pure parts of chalicelib.observability: when tracing is on, and what the log formatter hides."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.observability import logs, tracing


@pytest.mark.parametrize(
    ("stage", "flag", "expected"),
    [
        ("local", None, False),
        ("local", "false", False),
        ("local", "true", True),
        ("dev", None, True),
        ("prod", None, True),
        ("prod", "", True),
        ("prod", "false", False),
        ("dev", "0", False),
    ],
)
def test_tracing_is_on_for_aws_stages_unless_switched_off(
    stage: str, flag: str | None, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_STAGE", stage)
    if flag is None:
        monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    else:
        monkeypatch.setenv("AWS_XRAY_SDK_ENABLED", flag)

    assert tracing.active() is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "token [redacted] here"),
        (
            "key -----BEGIN PRIVATE KEY-----\nMIIEv\nabc\n-----END PRIVATE KEY----- end",
            "key [redacted] end",
        ),
        ("cut -----BEGIN RSA PRIVATE KEY-----\nMIIEv", "cut [redacted]"),
        ("password=hunter2, next", "password=[redacted], next"),
        ('{"new_password": "s3cret!", "x": 1}', '{"new_password": [redacted], "x": 1}'),
        ("app_id=1&sign=QUJD+/==&sign_type=RSA2", "app_id=1&sign=[redacted]&sign_type=RSA2"),
        ("order 20240501000001 paid", "order 20240501000001 paid"),
    ],
)
def test_the_formatter_blanks_what_looks_like_a_secret(text: str, expected: str) -> None:
    assert logs.scrub(text) == expected


def test_fields_named_like_secrets_are_blanked_whatever_their_value() -> None:
    record = logging.LogRecord("shop.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.fields = {"user_id": 7, "password": "x", "api_token": 1, "sign": "abc", "n": [1, "a"]}

    line = json.loads(logs.JsonFormatter().format(record))

    del line["timestamp"]
    assert line == {
        "level": "INFO",
        "logger": "shop.x",
        "message": "hello world",
        "user_id": 7,
        "password": "[redacted]",
        "api_token": "[redacted]",
        "sign": "[redacted]",
        "n": [1, "a"],
    }
