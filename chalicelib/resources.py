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

Every real client sits behind its service's circuit breaker (chalicelib/breaker.py):
the database's pool (db/engine.py), Redis' commands and pipelines, FastDFS' calls and
Alipay's gateway calls. A breaker open answers at once with the client's own "down"
error, which `is_unavailable` knows, and `retry_after` gives the seconds it has left.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import breaker, config
from chalicelib.db.engine import engine, statement_timeout
from chalicelib.db.engine import (  # ApiBlueprint opens it around each request
    one_connection_per_request as one_connection_per_request,
)
from chalicelib.db.engine import transaction as transaction  # entry points take it from here
from chalicelib.observability import tracing

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.adapters.alipay import AlipayClient
    from chalicelib.adapters.mailer import Mailer
    from chalicelib.adapters.storage import Storage

log = logging.getLogger("shop.health")

REDIS_TIMEOUT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5  # a 503's Retry-After when no breaker says better

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

    # A black hole costs one command REDIS_TIMEOUT_SECONDS (the URL's ?socket_timeout=
    # overrides it); redis-py does not retry a timed-out command.
    client = redis_lib.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    kwargs = client.connection_pool.connection_kwargs
    circuit = breaker.for_service(
        "redis", f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db')}"
    )
    failures = (redis_lib.ConnectionError, redis_lib.TimeoutError)

    def counts(exc: BaseException) -> bool:
        return isinstance(exc, failures)

    breaker.guard_methods(
        client, circuit, ("execute_command",), counts, unavailable=redis_lib.ConnectionError
    )
    make_pipeline = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        return breaker.guard_methods(
            make_pipeline(*args, **kwargs),
            circuit,
            ("execute",),
            counts,
            unavailable=redis_lib.ConnectionError,
        )

    client.pipeline = pipeline  # type: ignore[method-assign]
    client.circuit = circuit  # type: ignore[attr-defined]  # health() reports it
    return client


def storage() -> Storage:
    """Image storage: FastDFS (STORAGE_URL fastdfs://...) or a local folder."""
    s = config.settings()
    key = f"{s.storage_url}|{s.media_url}"

    def build() -> Storage:
        from chalicelib.adapters.storage import storage_from_url

        store = tracing.trace_methods(
            storage_from_url(s.storage_url, s.media_url),
            "storage",
            ("save", "reserve", "write", "delete", "read", "ping"),
        )
        if s.storage_url.startswith("fastdfs://"):
            _guard_fastdfs(store, s.storage_url)
        return store

    return _cached("storage", key, build)


def _guard_fastdfs(store: Storage, storage_url: str) -> None:
    """FastDFS behind its breaker. What counts: a call that could not connect, timed out
    or was cut; not an error status the tracker or storage server answered with."""
    from chalicelib.adapters.storage import StorageUnavailable

    def counts(exc: BaseException) -> bool:
        return isinstance(exc, StorageUnavailable) and type(exc.__cause__).__name__ != "DataError"

    circuit = breaker.for_service(
        "storage", storage_url.removeprefix("fastdfs://").partition("?")[0]
    )
    breaker.guard_methods(
        store,
        circuit,
        ("save", "reserve", "write", "delete", "read", "ping"),
        counts,
        unavailable=StorageUnavailable,
    )
    store.circuit = circuit  # type: ignore[attr-defined]  # health() reports it


def alipay() -> AlipayClient:
    """Alipay (python-alipay-sdk); locally with no ALIPAY_GATEWAY, the built-in simulator."""
    from chalicelib.adapters.alipay import alipay_settings, build_client

    resolved = alipay_settings()
    timeout = config.limits().alipay_timeout

    def build() -> AlipayClient:
        client = tracing.trace_methods(
            build_client(resolved, timeout=timeout),
            "alipay",
            ("page_pay_url", "verify", "query_trade", "close_trade", "refund", "query_refund"),
            order_id=_alipay_order_id,
        )
        _guard_alipay(client, resolved.gateway)
        return client

    return _cached("alipay", f"{resolved.cache_key}|{timeout}", build)


def _guard_alipay(client: AlipayClient, gateway: str) -> None:
    """The gateway calls behind Alipay's breaker (building a pay URL and checking a
    signature never leave the process). What counts: no answer (refused, timed out, cut,
    HTTP 5xx); not an answer Alipay gave, signed or refused."""
    import http.client

    from chalicelib.adapters.alipay import AlipayUnavailable

    def counts(exc: BaseException) -> bool:
        return isinstance(exc, AlipayUnavailable) and isinstance(
            exc.__cause__, OSError | http.client.HTTPException
        )

    breaker.guard_methods(
        client,
        breaker.for_service("alipay", gateway),
        ("query_trade", "close_trade"),
        counts,
        unavailable=AlipayUnavailable,
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


def job_statements() -> contextlib.AbstractContextManager[None]:
    """`with job_statements():` around a job: its SELECTs may run JOB_STATEMENT_TIMEOUT
    on the server instead of a request's DATABASE_STATEMENT_TIMEOUT."""
    return statement_timeout(config.limits().job_statement_timeout)


def retry_after(exc: BaseException) -> str:
    """Retry-After of the 503 for `exc`: the seconds an open breaker has left, else 5."""
    return breaker.retry_after_header(exc, RETRY_AFTER_SECONDS)


def health() -> dict[str, Any]:
    """Can this container reach what it needs? {"status": "ok"|"unavailable", each part's
    "ok"|"unavailable", and "circuits": the state of each breaker this container has
    (closed | open | half_open)}; never raises. A client that cannot even be built (a bad
    URL, a secret that cannot be fetched) counts as its service being down. A part whose
    breaker is open is unavailable without being asked."""
    from sqlalchemy import text

    def database() -> None:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    body: dict[str, Any] = {"status": "ok"}
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
    body["circuits"] = _circuits()
    return body


def _circuits() -> dict[str, str]:
    """The state of the breaker of each client this container uses now (the embedded
    twins have none; Alipay's once it has been called)."""
    found: dict[str, str] = {}
    try:
        pool = engine().pool
        if hasattr(pool, "circuit"):
            found["database"] = pool.circuit().state
        for name, client in (("redis", redis()), ("storage", storage())):
            circuit = getattr(client, "circuit", None)
            if isinstance(circuit, breaker.CircuitBreaker):
                found[name] = circuit.state
        from chalicelib.adapters.alipay import alipay_settings

        alipay_circuit = breaker.existing("alipay", alipay_settings().gateway)
        if alipay_circuit is not None:
            found["alipay"] = alipay_circuit.state
    except Exception as exc:  # a client that cannot be built is already reported above
        log.warning("circuit states: %s: %s", type(exc).__name__, exc)
    return found


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
    breaker.reset_all()
