"""Settings read from the environment when they are used, never at import.

chalice.test.Client patches os.environ around each call, tests change variables, and
Lambda containers keep modules loaded between invocations. So `settings()`, `limits()`
and `jwt_secret()` are remembered by the environment they were built from: each build
records the variables it read, and a later call returns it while those variables hold
the same values (a few dict look-ups instead of rebuilding from ~25 variables several
times a request); a changed variable builds anew. Secrets fetched from Secrets Manager
are cached per process too.

Locally every setting has an embedded default (SQLite, in-process Redis, folders
under var/, a generated JWT secret). On AWS stages those defaults are refused:
a Lambda that silently wrote to /tmp/shop.db would lose every order.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from chalicelib.integers import ascii_int

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STAGES = frozenset({"local"})
MIN_JWT_SECRET_BYTES = 32
DEFAULT_CORS_ORIGINS = "http://127.0.0.1:8080,http://localhost:8080"
DEFAULT_MAIL_FROM = "家电之选 <no-reply@localhost>"


T = TypeVar("T")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe for the stage we run on."""


@dataclass(frozen=True)
class Settings:
    stage: str
    database_url: str
    redis_url: str | None  # None: the in-process Redis twin
    storage_url: str
    media_url: str
    mail_url: str
    # The verification mail's sender (an SES-verified identity on AWS).
    mail_from: str
    jwt_ttl_seconds: int
    shop_timezone: ZoneInfo
    order_payment_timeout_minutes: int
    # Unpaid orders one account may hold at once (each holds stock until paid or expired).
    max_unpaid_orders: int
    recharge_enabled: bool
    frontend_url: str | None
    cors_allowed_origins: tuple[str, ...]
    alipay_app_id: str
    alipay_gateway: str | None  # None: the built-in simulator (local stage only)
    # Where Alipay sends the buyer back and its notifies: API_BASE_URL (on AWS the API
    # Gateway stage URL, required); locally http://127.0.0.1:$PORT.
    api_base_url: str
    freight_free_from_fen: int
    freight_fee_fen: int
    var_dir: Path
    port: int
    # Largest accepted image upload: Lambda's 6 MB request payload less base64's third.
    upload_max_bytes: int

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES


# --- remembered by the environment they were built from ------------------------------

_recording = threading.local()
_memo_lock = threading.Lock()


class _Remembered:
    """One build: the variables it read, their values then, and what it returned."""

    __slots__ = ("encoded_names", "encoded_values", "names", "result", "values")

    def __init__(self, names: tuple[str, ...], result: Any) -> None:
        self.names = names
        self.values = tuple(map(os.environ.get, names))
        self.encoded_names = tuple(map(os.fsencode, names))
        self.encoded_values = tuple(None if v is None else os.fsencode(v) for v in self.values)
        self.result = result

    def still_holds(self) -> bool:
        environ = os.environ
        # os._Environ keeps encoded names and values in _data (its get() encodes each
        # name, ~1 us); chalice's test client swaps in a plain dict during each call.
        data = getattr(environ, "_data", None)
        if data is not None:
            return tuple(map(data.get, self.encoded_names)) == self.encoded_values
        return tuple(map(environ.get, self.names)) == self.values


# function -> its builds, newest last, a few kept
_memos: dict[Callable[..., Any], list[_Remembered]] = {}
MEMO_ENTRIES = 8


def _reads() -> list[list[str]]:
    stack: list[list[str]] | None = getattr(_recording, "stack", None)
    if stack is None:
        stack = _recording.stack = []
    return stack


def _by_environment(build: Callable[[], T]) -> Callable[[], T]:
    """`build()` remembered by the values of the variables it read (see module doc)."""

    @functools.wraps(build)
    def remembered() -> T:
        for entry in reversed(_memos.get(build, ())):
            if entry.still_holds():
                for outer in _reads():  # an enclosing build depends on these too
                    outer.extend(entry.names)
                return entry.result
        stack = _reads()
        stack.append([])
        try:
            result = build()
        finally:
            read = stack.pop()
        if stack:
            stack[-1].extend(read)
        entry = _Remembered(tuple(dict.fromkeys(read)), result)
        with _memo_lock:
            kept = _memos.setdefault(build, [])
            kept.append(entry)
            del kept[:-MEMO_ENTRIES]
        return result

    return remembered


def _env(name: str, default: str | None = None) -> str | None:
    for reads in _reads():
        reads.append(name)
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = ascii_int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _fen(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    from chalicelib.money import parse_yuan

    try:
        return parse_yuan(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _seconds(name: str, default: float, *, maximum: float) -> float:
    """A duration in seconds: ASCII digits with an optional fraction ("2", "0.5")."""
    raw = _env(name)
    if raw is None:
        return default
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) is None:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}")
    value = float(raw)
    if not 0 < value <= maximum:
        raise ConfigError(f"{name} must be above 0 and at most {maximum:g} seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """How long a call to a backing service may take, and when to stop trying
    (docs/ARCHITECTURE.md, "When a backing service stalls")."""

    # TCP connect + MySQL handshake, and the ping of a connection idle on checkout.
    database_connect_timeout: float
    # The server's limit on each SELECT of a request (MariaDB max_statement_time, MySQL
    # MAX_EXECUTION_TIME); writes wait at most innodb_lock_wait_timeout for a lock.
    database_statement_timeout: float
    # The same for the scheduled jobs (explicitly longer); migrations have none.
    job_statement_timeout: float
    # One Alipay gateway call: the connect, then the whole answer.
    alipay_timeout: float
    # Consecutive connection failures/timeouts that open a service's breaker, and how
    # long it stays open before one trial call.
    breaker_failures: int
    breaker_cooldown: float


@_by_environment
def limits() -> Limits:
    return Limits(
        database_connect_timeout=_seconds("DATABASE_CONNECT_TIMEOUT", 2.0, maximum=10),
        database_statement_timeout=_seconds("DATABASE_STATEMENT_TIMEOUT", 5.0, maximum=25),
        job_statement_timeout=_seconds("JOB_STATEMENT_TIMEOUT", 60.0, maximum=230),
        alipay_timeout=_seconds("ALIPAY_TIMEOUT", 5.0, maximum=12),
        breaker_failures=_int("BREAKER_FAILURES", 3, minimum=1),
        breaker_cooldown=_seconds("BREAKER_COOLDOWN_SECONDS", 10.0, maximum=300),
    )


@_by_environment
def ping_after_idle() -> float:
    """DATABASE_PING_AFTER_IDLE_SECONDS: a pooled MySQL connection idle this long is pinged
    before use (default 5 s); one used more recently is trusted, and should the server have
    dropped it meanwhile, the request fails with a 503 and the pool replaces it."""
    name = "DATABASE_PING_AFTER_IDLE_SECONDS"
    raw = _env(name)
    if raw is None:
        return 5.0
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) is None or float(raw) > 3600:
        raise ConfigError(f"{name} must be 0 (every use) to 3600 seconds, got {raw!r}")
    return float(raw)


def database_behind_proxy() -> bool:
    """DATABASE_BEHIND_PROXY: the lock wait and READ COMMITTED are set by the server side
    (RDS Proxy's init query, the parameter group), not per session by the app."""
    return _bool("DATABASE_BEHIND_PROXY", False)


def current_stage() -> str:
    stage = _env("SHOP_STAGE", "local") or "local"
    if stage in LOCAL_STAGES and _env("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigError("SHOP_STAGE=local inside Lambda: deploy with a dev or prod stage")
    return stage


@_by_environment
def settings() -> Settings:
    stage = current_stage()
    local = stage in LOCAL_STAGES
    var_dir = Path(_env("SHOP_VAR_DIR", str(PROJECT_ROOT / "var")) or "var")

    def required_on_aws(name: str, local_default: str | None) -> str | None:
        value = _env(name)
        if value is None and not local:
            raise ConfigError(f"{name} must be set on the {stage} stage")
        return value if value is not None else local_default

    database_url = required_on_aws("DATABASE_URL", f"sqlite:///{var_dir / 'shop.db'}")
    database_url = _with_secret_credentials(database_url, "DATABASE_SECRET")
    redis_url = required_on_aws("REDIS_URL", None)
    redis_url = _with_secret_credentials(redis_url, "REDIS_AUTH_SECRET")
    storage_url = required_on_aws("STORAGE_URL", f"file://{var_dir / 'media'}")
    mail_url = required_on_aws("MAIL_URL", f"file://{var_dir / 'outbox'}")
    mail_from = required_on_aws("MAIL_FROM", DEFAULT_MAIL_FROM)
    port = _int("PORT", 8000, minimum=1)
    media_url = _env("MEDIA_URL") or (f"http://127.0.0.1:{port}/media/" if local else "")
    if not media_url.endswith("/"):
        media_url += "/"
    if not local:
        assert database_url and storage_url and mail_url
        if database_url.startswith("sqlite"):
            raise ConfigError(f"DATABASE_URL on the {stage} stage must be MySQL, not SQLite")
        if storage_url.startswith("file://"):
            raise ConfigError(f"STORAGE_URL on the {stage} stage must be fastdfs://")
        if mail_url.startswith("file://"):
            raise ConfigError(f"MAIL_URL on the {stage} stage must be sqs://<queue url>")
        if not media_url.startswith(("http://", "https://")):
            raise ConfigError(f"MEDIA_URL on the {stage} stage must be an absolute URL")
    origins = _env("CORS_ALLOWED_ORIGINS", DEFAULT_CORS_ORIGINS if local else "") or ""
    try:
        tz = ZoneInfo(_env("SHOP_TIMEZONE", "Asia/Shanghai") or "Asia/Shanghai")
    except (KeyError, ValueError):
        raise ConfigError(f"SHOP_TIMEZONE {_env('SHOP_TIMEZONE')!r} is not a time zone") from None
    gateway = _env("ALIPAY_GATEWAY")
    api_base_url = required_on_aws("API_BASE_URL", f"http://127.0.0.1:{port}")
    alipay_app_id = required_on_aws("ALIPAY_APP_ID", "2021000000000000")
    if gateway is None and not local:
        raise ConfigError(f"ALIPAY_GATEWAY must be set on the {stage} stage")
    return Settings(
        stage=stage,
        database_url=database_url or "",
        redis_url=redis_url,
        storage_url=storage_url or "",
        media_url=media_url,
        mail_url=mail_url or "",
        mail_from=mail_from or DEFAULT_MAIL_FROM,
        jwt_ttl_seconds=_int("JWT_TTL_SECONDS", 86400, minimum=60),
        shop_timezone=tz,
        order_payment_timeout_minutes=_int("ORDER_PAYMENT_TIMEOUT_MINUTES", 30, minimum=1),
        max_unpaid_orders=_int("MAX_UNPAID_ORDERS", 3, minimum=1),
        recharge_enabled=_bool("RECHARGE_ENABLED", False),
        frontend_url=_env("FRONTEND_URL"),
        cors_allowed_origins=tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
        alipay_app_id=alipay_app_id or "",
        alipay_gateway=gateway,
        api_base_url=(api_base_url or "").rstrip("/"),
        freight_free_from_fen=_fen("FREIGHT_FREE_FROM", 9900),
        freight_fee_fen=_fen("FREIGHT_FEE", 1000),
        var_dir=var_dir,
        port=port,
        upload_max_bytes=_int("UPLOAD_MAX_BYTES", 4 * 1024 * 1024, minimum=1),
    )


# --- secrets -----------------------------------------------------------------

_secret_lock = threading.Lock()


def secret_value(name: str) -> str | None:
    """The value of a secret setting: PEM/text inline, a file path, or a Secrets Manager ARN.

    `secretsmanager:<secret id>` (optionally `#<json key>`) is fetched once per process
    through boto3 and cached: Lambda containers live for many invocations.
    """
    raw = _env(name)
    if raw is None:
        return None
    if raw.startswith("secretsmanager:"):
        return _secrets_manager_value(raw.removeprefix("secretsmanager:"))
    if "\n" not in raw and len(raw) < 4096 and not raw.startswith("-----"):
        path = Path(raw)
        try:
            if path.is_file():
                return path.read_text().strip()
        except OSError:
            pass
    return raw


@cache
def _secrets_manager_value(reference: str) -> str:
    import json

    import boto3
    from botocore.config import Config

    secret_id, _, key = reference.partition("#")
    client = boto3.client(
        "secretsmanager",
        config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2}),
    )
    value = client.get_secret_value(SecretId=secret_id)["SecretString"]
    if key:
        value = json.loads(value)[key]
    return str(value)


def _with_secret_credentials(url: str | None, secret_name: str) -> str | None:
    """`url` with the credentials kept in the secret setting `secret_name`, when that is set.

    On AWS the URLs in the environment carry no password. DATABASE_SECRET names the JSON
    secret RDS/CDK generate (`secretsmanager:<arn>`: {"username", "password", ...}), merged in
    as `user:password@`; REDIS_AUTH_SECRET names an ElastiCache auth token
    (`secretsmanager:<arn>#token`), merged in as `:token@`. The fetch is cached per process.
    """
    if url is None or _env(secret_name) is None:
        return url
    import json
    from urllib.parse import quote

    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"{secret_name} is set but the URL it completes has no scheme")
    if "@" in rest.split("/", 1)[0]:
        raise ConfigError(f"{secret_name} is set but the URL already carries credentials")
    value = secret_value(secret_name) or ""
    try:
        document = json.loads(value)
    except ValueError:
        document = None
    if isinstance(document, dict):
        user, password = str(document.get("username", "")), str(document.get("password", ""))
    else:
        user, password = "", value
    if not password:
        raise ConfigError(f"{secret_name} holds no password")
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"


@_by_environment
def jwt_secret() -> str:
    """The HS256 signing secret: JWT_SECRET, or locally a random one kept in var/."""
    value = secret_value("JWT_SECRET")
    stage = current_stage()
    if value is None:
        if stage not in LOCAL_STAGES:
            raise ConfigError(f"JWT_SECRET must be set on the {stage} stage")
        value = _local_generated_secret(settings().var_dir / "jwt_secret")
    if len(value.encode()) < MIN_JWT_SECRET_BYTES:
        raise ConfigError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")
    return value


def _local_generated_secret(path: Path) -> str:
    with _secret_lock:
        if path.is_file():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(value)
        tmp.chmod(0o600)
        tmp.replace(path)
        return value
