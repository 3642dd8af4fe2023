"""A black-holed Alipay gateway (the fault proxy's "hold") costs a gateway call
ALIPAY_TIMEOUT; after BREAKER_FAILURES such calls Alipay's breaker opens and calls fail
at once with AlipayUnavailable (which the callers already handle: a 503, or the jobs
leaving the order for their next run); after the cool-down a trial call brings it back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.fakes.alipay import FakeAlipay
from tests.fakes.tcp_proxy import TcpProxy

ALIPAY_TIMEOUT = 0.5
COOLDOWN = 2.0
SLACK = 1.5
AT_ONCE = 0.5


@pytest.fixture
def proxy(fake_alipay: FakeAlipay, monkeypatch: pytest.MonkeyPatch) -> Iterator[TcpProxy]:
    gateway = urlsplit(fake_alipay.url)
    through = TcpProxy((gateway.hostname or "127.0.0.1", gateway.port or 80)).start()
    monkeypatch.setenv(
        "ALIPAY_GATEWAY", gateway._replace(netloc=f"127.0.0.1:{through.port}").geturl()
    )
    monkeypatch.setenv("ALIPAY_TIMEOUT", str(ALIPAY_TIMEOUT))
    monkeypatch.setenv("BREAKER_FAILURES", "2")
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", str(COOLDOWN))
    yield through
    through.close()


def test_a_black_holed_gateway_costs_its_timeout_then_nothing_until_it_returns(
    proxy: TcpProxy,
) -> None:
    from chalicelib import resources
    from chalicelib.adapters.alipay import AlipayUnavailable
    from chalicelib.breaker import CircuitOpen

    alipay = resources.alipay()
    assert alipay.query_trade("20261202000000000001") is None  # the fake has no such trade
    proxy.mode = "hold"

    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(AlipayUnavailable):
            alipay.query_trade("20261202000000000001")
        assert time.monotonic() - started <= ALIPAY_TIMEOUT + SLACK
    tried = proxy.connections
    started = time.monotonic()
    with pytest.raises(AlipayUnavailable) as raised:
        alipay.close_trade("20261202000000000001")

    assert time.monotonic() - started <= AT_ONCE
    assert isinstance(raised.value.__cause__, CircuitOpen)
    assert resources.retry_after(raised.value) in {"1", "2"}
    assert proxy.connections == tried
    assert resources.health()["circuits"]["alipay"] == "open"

    proxy.mode = "forward"
    time.sleep(COOLDOWN)
    assert alipay.query_trade("20261202000000000001") is None
    assert alipay.query_trade("20261202000000000001") is None
    assert resources.health()["circuits"]["alipay"] == "closed"
