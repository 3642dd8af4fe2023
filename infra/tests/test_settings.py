"""Stage sizes, context options and the session settings: plain functions, no synth."""

from __future__ import annotations

import pytest

from shop_infra.data import session_settings
from shop_infra.settings import STAGES, Options, budget, provisioned_concurrency


@pytest.mark.parametrize(
    ("stage", "functions", "workers", "expected"),
    [
        # API + 4 jobs today; + migrate + the mail worker after the other branches land
        ("dev", 5, 0, (24, 50)),
        ("dev", 7, 1, (27, 50)),
        ("prod", 5, 0, (154, 180)),
        ("prod", 7, 1, (157, 180)),
    ],
)
def test_the_lambdas_fit_in_the_proxy_connections(
    stage: str, functions: int, workers: int, expected: tuple[int, int]
) -> None:
    lambdas, proxy = budget(STAGES[stage], functions, workers)

    assert (lambdas, proxy) == expected
    assert lambdas <= proxy


def test_context_is_read_per_stage_first() -> None:
    context = {"prod:alarm_email": "oncall@example.com", "alarm_email": "dev@example.com"}

    prod = Options.from_context(context.get, stage="prod", region="ap-southeast-1")
    dev = Options.from_context(context.get, stage="dev", region="ap-southeast-1")

    assert prod.alarm_email == "oncall@example.com"
    assert dev.alarm_email == "dev@example.com"
    assert prod.alipay_gateway == "https://openapi.alipay.com/gateway.do"
    assert dev.alipay_gateway == "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
    assert prod.availability_zones == ("ap-southeast-1a", "ap-southeast-1b")


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="db_engine"):
        Options.from_context({"db_engine": "postgres"}.get, stage="dev", region="ap-southeast-1")


def test_session_settings_use_each_engines_variable_names() -> None:
    assert session_settings("mysql8") == {
        "innodb_lock_wait_timeout": "5",
        "transaction_isolation": "READ-COMMITTED",
    }
    assert session_settings("mariadb10.11") == {
        "innodb_lock_wait_timeout": "5",
        "tx_isolation": "READ-COMMITTED",
    }


def test_provisioned_concurrency_is_the_stages_unless_the_context_says() -> None:
    def options(stage: str, context: dict[str, str]) -> Options:
        return Options.from_context(context.get, stage=stage, region="ap-southeast-1")

    assert provisioned_concurrency(STAGES["dev"], options("dev", {})) == 0
    assert provisioned_concurrency(STAGES["prod"], options("prod", {})) == 2
    override = {"dev:api_provisioned_concurrency": "3", "api_provisioned_concurrency": "0"}
    assert provisioned_concurrency(STAGES["dev"], options("dev", override)) == 3
    assert provisioned_concurrency(STAGES["prod"], options("prod", override)) == 0


def test_provisioned_concurrency_beyond_the_reserved_is_refused() -> None:
    too_many = {"api_provisioned_concurrency": "21"}
    with pytest.raises(ValueError, match="reserved concurrency 20"):
        provisioned_concurrency(
            STAGES["dev"], Options.from_context(too_many.get, stage="dev", region="ap-southeast-1")
        )
    with pytest.raises(ValueError, match="whole number"):
        Options.from_context(
            {"api_provisioned_concurrency": "two"}.get, stage="dev", region="ap-southeast-1"
        )
