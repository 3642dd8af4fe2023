"""Pure parts of chalicelib.observability: when tracing is on, and what the log formatter hides."""

from __future__ import annotations

import json
import logging
from typing import Any

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


LAMBDA_RUNTIME_LOGGING = r"""
import logging, sys
# What Lambda's Python runtime does before importing the handler: its own handler on root.
runtime = logging.StreamHandler(sys.stdout)
runtime.setFormatter(logging.Formatter("[%(levelname)s]\t%(message)s"))
logging.getLogger().addHandler(runtime)
from chalicelib.observability import logs
logs.configure()
token = logs.bind(request_id="8f5c-req")
logging.getLogger("shop.payments").info("alipay notify for %s: %s", "20240501000001", "paid")
logging.getLogger("shop.payments").debug("not at INFO")
logs.unbind(token)
print("handlers", len(logging.getLogger().handlers))
"""


def test_on_lambda_the_runtimes_root_handler_writes_the_shops_info_lines_as_json() -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "jiadian-shop-dev", "LOG_LEVEL": "INFO"}

    result = subprocess.run(
        [sys.executable, "-c", LAMBDA_RUNTIME_LOGGING],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    notify, handlers = result.stdout.splitlines()
    line = json.loads(notify)
    del line["timestamp"]
    assert line == {
        "level": "INFO",
        "logger": "shop.payments",
        "message": "alipay notify for 20240501000001: paid",
        "request_id": "8f5c-req",
    }
    assert handlers == "handlers 1"  # the runtime's, reformatted: no second copy of each line


def test_the_local_outbox_link_is_written_whole_and_nothing_else_is(tmp_path: Any) -> None:
    """`make run` users verify an address by opening the logged link: the outbox twin's
    line keeps its token; the same text logged by anyone else is blanked."""
    from chalicelib.adapters.mailer import Mail, OutboxMailer

    link = "http://127.0.0.1:8000/emails/verification/?token=eyJhbGciOiJI.eyJzdWIiOiI0In0.c2ln"
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    mail_log = logging.getLogger("shop.mail")
    mail_log.addHandler(handler)
    try:
        OutboxMailer(tmp_path, "shop@example.com").send(
            Mail(to="a@example.com", subject="Verify", text=f"Open {link}\n")
        )
    finally:
        mail_log.removeHandler(handler)
    formatter = logs.JsonFormatter()
    elsewhere = logging.LogRecord("shop.api", logging.INFO, __file__, 1, link, None, None)

    assert link in json.loads(formatter.format(records[-1]))["message"]
    assert json.loads(formatter.format(elsewhere))["message"] == (
        "http://127.0.0.1:8000/emails/verification/?token=[redacted]"
    )
