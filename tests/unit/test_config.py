"""Settings: embedded defaults locally, refused on AWS stages."""

from pathlib import Path

import pytest

from chalicelib import config
from chalicelib.config import ConfigError

AWS_ENV = {
    "SHOP_STAGE": "prod",
    "DATABASE_URL": "mysql+pymysql://shop@db.internal/shop",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "STORAGE_URL": "fastdfs://10.0.0.5:22122",
    "MEDIA_URL": "https://img.example.com/",
    "MAIL_URL": "sqs://https://sqs.us-east-1.amazonaws.com/1/mail",
    "MAIL_FROM": "家电之选 <no-reply@shop.example.com>",
    "ALIPAY_GATEWAY": "https://openapi.alipay.com/gateway.do",
    "JWT_SECRET": "s" * 40,
    "API_BASE_URL": "https://api.example.com/api",
    "ALIPAY_APP_ID": "2021004100000001",
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_local_stage_has_embedded_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "STORAGE_URL", "MEDIA_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOP_VAR_DIR", str(tmp_path))

    s = config.settings()

    assert s.database_url == f"sqlite:///{tmp_path / 'shop.db'}"
    assert s.redis_url is None
    assert s.storage_url == f"file://{tmp_path / 'media'}"
    assert s.media_url == "http://127.0.0.1:8000/media/"
    assert s.jwt_ttl_seconds == 86400
    assert s.order_payment_timeout_minutes == 30
    assert s.recharge_enabled is False
    assert str(s.shop_timezone) == "Asia/Shanghai"


def test_a_complete_aws_configuration_is_accepted(aws_env: pytest.MonkeyPatch) -> None:
    s = config.settings()

    assert s.stage == "prod"
    assert not s.is_local
    assert config.jwt_secret() == "s" * 40


@pytest.mark.parametrize(
    "missing",
    [
        "DATABASE_URL",
        "REDIS_URL",
        "STORAGE_URL",
        "MAIL_URL",
        "MAIL_FROM",
        "ALIPAY_GATEWAY",
        "API_BASE_URL",
        "ALIPAY_APP_ID",
    ],
)
def test_aws_stages_refuse_to_fall_back_to_local_defaults(
    aws_env: pytest.MonkeyPatch, missing: str
) -> None:
    aws_env.delenv(missing)

    with pytest.raises(ConfigError, match=missing):
        config.settings()


def test_aws_stages_refuse_a_generated_jwt_secret(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.delenv("JWT_SECRET")

    with pytest.raises(ConfigError, match="JWT_SECRET"):
        config.jwt_secret()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "sqlite:////tmp/x.db"),
        ("STORAGE_URL", "file:///tmp/media"),
        ("MAIL_URL", "file:///tmp/outbox"),
        ("MEDIA_URL", "/media/"),
    ],
)
def test_aws_stages_refuse_embedded_backends(
    aws_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    aws_env.setenv(name, value)

    with pytest.raises(ConfigError, match=name):
        config.settings()


def test_the_local_stage_inside_lambda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_STAGE", "local")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-api")

    with pytest.raises(ConfigError, match="inside Lambda"):
        config.settings()


def test_a_short_jwt_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "too-short")

    with pytest.raises(ConfigError, match="at least 32 bytes"):
        config.jwt_secret()


def test_locally_a_jwt_secret_is_generated_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("SHOP_VAR_DIR", str(tmp_path))

    first = config.jwt_secret()
    second = config.jwt_secret()

    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "jwt_secret").read_text() == first
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_TTL_SECONDS", "soon"),
        ("RECHARGE_ENABLED", "maybe"),
        ("SHOP_TIMEZONE", "Mars/Olympus"),
        ("FREIGHT_FEE", "10.001"),
    ],
)
def test_unreadable_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=name):
        config.settings()


def test_secrets_may_be_file_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("k" * 40 + "\n")
    monkeypatch.setenv("JWT_SECRET", str(tmp_path / "secret.txt"))

    assert config.jwt_secret() == "k" * 40


def test_secrets_may_come_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="shop/jwt", SecretString='{"secret": "' + "m" * 40 + '"}'
        )
        config._secrets_manager_value.cache_clear()
        monkeypatch.setenv("JWT_SECRET", "secretsmanager:shop/jwt#secret")

        assert config.jwt_secret() == "m" * 40
    config._secrets_manager_value.cache_clear()


def test_database_credentials_come_from_the_rds_secret(aws_env: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        # Given the JSON secret CDK generates for RDS and a credential-less URL to the proxy
        arn = boto3.client("secretsmanager").create_secret(
            Name="shop/db",
            SecretString='{"username": "shop", "password": "p@ss/w0rd:%", "port": 3306}',
        )["ARN"]
        config._secrets_manager_value.cache_clear()
        aws_env.setenv("DATABASE_URL", "mysql+pymysql://proxy.internal:3306/shop?charset=utf8mb4")
        aws_env.setenv("DATABASE_SECRET", f"secretsmanager:{arn}")

        # When the settings are read
        s = config.settings()

    # Then the user and the escaped password are merged into the URL, and PyMySQL gets
    # the password as the secret holds it
    assert s.database_url == (
        "mysql+pymysql://shop:p%40ss%2Fw0rd%3A%25@proxy.internal:3306/shop?charset=utf8mb4"
    )
    from sqlalchemy.engine import make_url

    url = make_url(s.database_url)
    assert (url.username, url.password, url.host, url.port) == (
        "shop",
        "p@ss/w0rd:%",
        "proxy.internal",
        3306,
    )
    config._secrets_manager_value.cache_clear()


def test_the_redis_auth_token_comes_from_its_secret(aws_env: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="shop/redis", SecretString='{"token": "t0ken-of-64-chars"}'
        )["ARN"]
        config._secrets_manager_value.cache_clear()
        aws_env.setenv("REDIS_URL", "rediss://cache.internal:6379/0")
        aws_env.setenv("REDIS_AUTH_SECRET", f"secretsmanager:{arn}#token")

        s = config.settings()

    assert s.redis_url == "rediss://:t0ken-of-64-chars@cache.internal:6379/0"
    config._secrets_manager_value.cache_clear()


def test_urls_without_a_secret_setting_are_used_as_they_are(aws_env: pytest.MonkeyPatch) -> None:
    s = config.settings()

    assert s.database_url == AWS_ENV["DATABASE_URL"]
    assert s.redis_url == AWS_ENV["REDIS_URL"]


def test_a_url_with_credentials_and_a_secret_is_refused(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("DATABASE_URL", "mysql+pymysql://shop:inline@proxy.internal/shop")
    aws_env.setenv("DATABASE_SECRET", "secretsmanager:shop/db")

    with pytest.raises(ConfigError, match="DATABASE_SECRET"):
        config.settings()


def test_limits_have_defaults_of_a_few_seconds() -> None:
    assert config.limits() == config.Limits(
        database_connect_timeout=2.0,
        database_statement_timeout=5.0,
        job_statement_timeout=60.0,
        alipay_timeout=5.0,
        breaker_failures=3,
        breaker_cooldown=10.0,
    )


def test_limits_read_seconds_with_a_fraction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", "30")

    assert config.limits().database_connect_timeout == 0.5
    assert config.limits().breaker_cooldown == 30.0


@pytest.mark.parametrize("raw", ["0", "-1", "1e3", "١", "1.", ".5", "nan", "11"])
def test_limits_refuse_what_is_not_a_bounded_number_of_seconds(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", raw)

    with pytest.raises(ConfigError, match="DATABASE_CONNECT_TIMEOUT"):
        config.limits()
