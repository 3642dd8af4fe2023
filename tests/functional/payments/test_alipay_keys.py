"""Where the Alipay keys come from: Secrets Manager, a file, inline PEM or console base64."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import resources


def test_keys_from_secrets_manager(fake_alipay: Any, key_pairs: Any, monkeypatch: Any) -> None:
    import boto3
    from moto import mock_aws

    name = f"shop/alipay-{uuid.uuid4().hex}"
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=name,
            SecretString=json.dumps(
                {
                    "app_private_key": key_pairs.app.private_pem,
                    "alipay_public_key": key_pairs.alipay.public_base64,
                }
            ),
        )
        monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", f"secretsmanager:{name}#app_private_key")
        monkeypatch.setenv("ALIPAY_PUBLIC_KEY", f"secretsmanager:{name}#alipay_public_key")
        alipay = resources.alipay()

    # Alipay's notifies verify, and the app's requests are signed with its key
    assert alipay.verify(fake_alipay.notify("20240501000000000000000000000020", "1.00"))
    assert not alipay.verify(
        fake_alipay.notify("20240501000000000000000000000020", "1.00", keys=fake_alipay.wrong_keys)
    )
    assert alipay.query_trade("20240501000000000000000000000020") is None
    assert fake_alipay.requests[0]["valid"] is True


def test_keys_from_files(fake_alipay: Any, key_pairs: Any, monkeypatch: Any, tmp_path: Any) -> None:
    private = tmp_path / "app_private_key.pem"
    private.write_text(key_pairs.app.private_pem)
    public = tmp_path / "alipay_public_key.pem"
    public.write_text(key_pairs.alipay.public_pem)
    monkeypatch.setenv("ALIPAY_APP_PRIVATE_KEY", str(private))
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", str(public))

    alipay = resources.alipay()

    assert alipay.verify(fake_alipay.notify("20240501000000000000000000000021", "1.00"))
    assert alipay.query_trade("20240501000000000000000000000021") is None
    assert fake_alipay.requests[0]["valid"] is True


@pytest.mark.parametrize("form", ["public_pem", "public_base64"])
def test_the_public_key_as_pem_or_as_the_console_shows_it(
    form: str, fake_alipay: Any, key_pairs: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", getattr(key_pairs.alipay, form))
    assert resources.alipay().verify(fake_alipay.notify("20240501000000000000000000000022", "1.00"))


def test_a_key_that_is_not_one_is_a_configuration_error(fake_alipay: Any, monkeypatch: Any) -> None:
    from chalicelib.config import ConfigError

    monkeypatch.setenv(
        "ALIPAY_PUBLIC_KEY", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
    )  # cut short
    with pytest.raises(ConfigError, match="not a readable RSA key"):
        resources.alipay()
    monkeypatch.setenv("ALIPAY_PUBLIC_KEY", "this is not a key")
    with pytest.raises(ConfigError, match="neither PEM nor base64"):
        resources.alipay()


def test_a_real_gateway_needs_both_keys(fake_alipay: Any, monkeypatch: Any) -> None:
    from chalicelib.config import ConfigError

    monkeypatch.delenv("ALIPAY_APP_PRIVATE_KEY")
    with pytest.raises(ConfigError, match="ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY"):
        resources.alipay()


def test_the_client_is_built_once_per_settings(
    fake_alipay: Any, key_pairs: Any, monkeypatch: Any
) -> None:
    first = resources.alipay()
    assert resources.alipay() is first
    monkeypatch.setenv("ALIPAY_APP_ID", "2021004100000002")
    assert resources.alipay() is not first
    assert resources.alipay().app_id == "2021004100000002"


def test_a_gateway_that_does_not_answer_times_out(fake_alipay: Any) -> None:
    from chalicelib.adapters.alipay import AlipayUnavailable, alipay_settings, build_client

    fake_alipay.mode = "hang"  # answers after 3 s
    alipay = build_client(alipay_settings(), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(AlipayUnavailable, match="gateway unreachable"):
        alipay.query_trade("20240501000000000000000000000023")
    assert time.monotonic() - started < 1.5


def test_a_gateway_that_trickles_its_answer_times_out(fake_alipay: Any) -> None:
    from chalicelib.adapters.alipay import AlipayUnavailable, alipay_settings, build_client

    fake_alipay.mode = "trickle"  # a byte every 50 ms: each read is quick, the whole is not
    alipay = build_client(alipay_settings(), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(AlipayUnavailable, match="gateway unreachable"):
        alipay.query_trade("20240501000000000000000000000025")
    assert time.monotonic() - started < 1.0


def test_the_default_timeout_is_five_seconds(fake_alipay: Any) -> None:
    assert resources.alipay().timeout == 5.0


def test_a_trade_ends_no_later_than_its_order(fake_alipay: Any) -> None:
    from urllib.parse import parse_qsl, urlsplit
    from zoneinfo import ZoneInfo

    from chalicelib.clock import utcnow

    now = utcnow()
    url = resources.alipay().page_pay_url(
        out_trade_no="20240501000000000000000000000024",
        subject="s",
        total_amount="1.00",
        expires_at=now + timedelta(seconds=30),
        return_url="http://r/",
        notify_url="http://n/",
        now=now,
    )
    biz = json.loads(dict(parse_qsl(urlsplit(url).query))["biz_content"])
    assert biz["timeout_express"] == "1m"  # Alipay's minimum
    beijing_end = (now + timedelta(seconds=30)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert biz["time_expire"] == beijing_end.strftime("%Y-%m-%d %H:%M:%S")


def test_configured_keys_win_over_the_simulators_without_a_gateway(
    fake_alipay: Any, key_pairs: Any, monkeypatch: Any
) -> None:
    from chalicelib.adapters.alipay import alipay_settings, simulator_keys
    from chalicelib.config import settings

    # given both keys set, and no ALIPAY_GATEWAY (the local simulator)
    monkeypatch.delenv("ALIPAY_GATEWAY")

    # when the client is built
    used = alipay_settings()
    alipay = resources.alipay()

    # then it holds the configured keys: a notify signed for them verifies
    assert used.simulated is True
    assert used.alipay_public_key.strip() == key_pairs.alipay.public_pem.strip()
    assert used.app_private_key.strip() == key_pairs.app.private_pem.strip()
    assert alipay.verify(fake_alipay.notify("20240501000000000000000000000026", "1.00"))
    simulator = simulator_keys(settings().var_dir)
    assert used.alipay_public_key != simulator.alipay_public_key


def test_without_keys_or_a_gateway_the_simulators_keys_are_used(monkeypatch: Any) -> None:
    from chalicelib.adapters.alipay import alipay_settings, simulator_keys
    from chalicelib.config import settings

    # given neither key set and no gateway
    for name in ("ALIPAY_GATEWAY", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)

    # when the settings are resolved, then both keys are the simulator's
    used = alipay_settings()
    simulator = simulator_keys(settings().var_dir)
    assert (used.app_private_key, used.alipay_public_key) == (
        simulator.app_private_key,
        simulator.alipay_public_key,
    )
