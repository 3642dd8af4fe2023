"""The one place where clients of outside systems are built: lazily, once per process.

Entry points (blueprints, jobs) get everything outside the process from here: the
database's engine and unit of work (`transaction`, re-exported from db.engine), Redis,
storage, Alipay and the mailer; services receive what they use as arguments.

Nothing heavy is imported until a client is first asked for (redis, boto3, alipay,
fdfs_client and aws_xray_sdk stay out of cold start). The Alipay, storage and mailer
clients' calls are traced as X-Ray subsegments on the stages that trace
(observability.tracing wraps them here, so the adapters know nothing of it); Redis calls
are traced by the tracing module itself, pymysql and botocore by the SDK's patches.
Clients are cached by the setting they were built from, so tests that switch
DATABASE_URL/REDIS_URL between runs get the right one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import config
from chalicelib.db.engine import engine
from chalicelib.db.engine import transaction as transaction  # entry points take it from here
from chalicelib.observability import tracing

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.adapters.alipay import AlipayClient
    from chalicelib.adapters.mailer import Mailer
    from chalicelib.adapters.storage import Storage

log = logging.getLogger("shop.health")

REDIS_TIMEOUT_SECONDS = 2.0

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
_embedded_redis_server: Any = None


def _cached(kind: str, key: str, build: Any) -> Any:
    found = _cache.get((kind, key))
    if found is not None:
        return found
    with _lock:
        if (kind, key) not in _cache:
            _cache[(kind, key)] = build()
        return _cache[(kind, key)]


def redis() -> Redis:
    """Redis (ElastiCache on AWS) or, with no REDIS_URL, an in-process twin (fakeredis)."""
    url = config.settings().redis_url
    return _cached("redis", url or "embedded", lambda: _build_redis(url))


def _build_redis(url: str | None) -> Redis:
    if url is None:
        import fakeredis

        global _embedded_redis_server
        if _embedded_redis_server is None:
            _embedded_redis_server = fakeredis.FakeServer()
        return fakeredis.FakeRedis(server=_embedded_redis_server, decode_responses=True)
    import redis as redis_lib

    return redis_lib.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def storage() -> Storage:
    """Image storage: FastDFS (STORAGE_URL fastdfs://...) or a local folder."""
    s = config.settings()
    key = f"{s.storage_url}|{s.media_url}"

    def build() -> Storage:
        from chalicelib.adapters.storage import storage_from_url

        return tracing.trace_methods(
            storage_from_url(s.storage_url, s.media_url),
            "storage",
            ("save", "delete", "read", "ping"),
        )

    return _cached("storage", key, build)


def alipay() -> AlipayClient:
    """Alipay (python-alipay-sdk); locally with no ALIPAY_GATEWAY, the built-in simulator."""
    from chalicelib.adapters.alipay import alipay_settings, build_client

    resolved = alipay_settings()
    return _cached(
        "alipay",
        resolved.cache_key,
        lambda: tracing.trace_methods(
            build_client(resolved),
            "alipay",
            ("page_pay_url", "verify", "query_trade", "close_trade", "refund", "query_refund"),
            order_id=_alipay_order_id,
        ),
    )


def _alipay_order_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The order an Alipay call is about: its out_trade_no (a notify's field, or argument)."""
    if "out_trade_no" in kwargs:
        return kwargs["out_trade_no"]
    first = args[0] if args else None
    return first.get("out_trade_no") if isinstance(first, Mapping) else first


def mailer() -> Mailer:
    """Mail: SQS, whose worker sends by SES (MAIL_URL sqs://...); locally an outbox folder."""
    s = config.settings()

    def build() -> Mailer:
        from chalicelib.adapters.mailer import mailer_from_url

        return tracing.trace_methods(
            mailer_from_url(s.mail_url, s.mail_from), "mailer", ("send", "deliver")
        )

    return _cached("mailer", f"{s.mail_url}|{s.mail_from}", build)


def is_unavailable(exc: BaseException) -> bool:
    """Is this what one of these clients raises when its service is down or too slow?

    Entry points answer it with 503. Only libraries already imported are asked about:
    a request that never touched Redis cannot have failed on it.
    """
    import sys

    from chalicelib.adapters.storage import StorageUnavailable

    if isinstance(exc, StorageUnavailable | TimeoutError | ConnectionError):
        return True
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import DisconnectionError, OperationalError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        if isinstance(exc, OperationalError | DisconnectionError | PoolTimeout):
            return True
    if "redis" in sys.modules:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        if isinstance(exc, RedisConnectionError | RedisTimeout):
            return True
    return False


def health() -> dict[str, str]:
    """Can this container reach what it needs? {"status": "ok"|"unavailable", and each
    part's "ok"|"unavailable"}; never raises. A client that cannot even be built (a bad
    URL, a secret that cannot be fetched) counts as its service being down."""
    from sqlalchemy import text

    def database() -> None:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    body = {"status": "ok"}
    for name, check in (
        ("database", database),
        ("redis", lambda: redis().ping()),
        ("storage", lambda: storage().ping()),
    ):
        try:
            check()
            body[name] = "ok"
        except Exception as exc:  # each failure is reported, none is raised
            log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            body[name] = body["status"] = "unavailable"
    return body


def reset() -> None:
    """Forget every client (tests switch backing services between runs)."""
    global _embedded_redis_server
    with _lock:
        for client in _cache.values():
            close = getattr(client, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # a client already gone is fine to forget
                    close()
        _cache.clear()
        _embedded_redis_server = None
