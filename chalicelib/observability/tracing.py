"""X-Ray tracing through aws-xray-sdk, on the AWS stages only, never failing a request.

Active when `active()` says so, read from the environment at each invocation (the test
client patches it per call): on an AWS stage (SHOP_STAGE dev/prod) unless
AWS_XRAY_SDK_ENABLED is false, or on any stage where AWS_XRAY_SDK_ENABLED is true (an
explicit opt-in: the local stage's config.json entry says false, the tests say true).

aws_xray_sdk is imported on the first traced invocation, never at import of app.py:
its import costs ~0.45 s outside Lambda, and stages that do not trace must not pay it.
Then, once per process, pymysql and botocore are patched, and redis-py (which the SDK
cannot patch) gets `Redis.execute_command` and `Pipeline.execute` wrapped.

Each invocation (a request, a job run) is one subsegment named `## <route or job>`,
carrying the annotations (route, method, user_id, order_id, job). Its children are the
SQL (pymysql), Redis, AWS SDK, Alipay and storage calls. On Lambda the parent is the
facade segment the SDK builds from `_X_AMZN_TRACE_ID` (it cannot carry annotations,
hence the subsegment). Outside Lambda (LAMBDA_TASK_ROOT unset) there is no facade, and
without a segment the SDK drops every subsegment, so `invocation()` begins and ends a
segment of its own around it; that segment is sent to AWS_XRAY_DAEMON_ADDRESS when it
ends.

Every call into the SDK is guarded: a tracing failure is logged at DEBUG and the
request goes on. Calls made outside an invocation are not traced at all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

log = logging.getLogger("shop.tracing")

SERVICE_NAME = "jiadian-shop"
LOCAL_STAGES = frozenset({"", "local"})
TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
FALSE = frozenset({"0", "false", "no", "off", "f", "n"})

# The subsegment of the invocation under way (None: not traced).
_invocation: ContextVar[Any] = ContextVar("shop_trace_invocation", default=None)
_lock = threading.Lock()
_state: dict[str, Any] = {}


def active() -> bool:
    """Is tracing on for this invocation? (environment only: cheap, no import.)"""
    flag = os.environ.get("AWS_XRAY_SDK_ENABLED", "").strip().lower()
    if flag in FALSE:
        return False
    if flag in TRUE:
        return True
    return os.environ.get("SHOP_STAGE", "local").strip() not in LOCAL_STAGES


def _guarded(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # tracing must never fail the work it observes
        log.debug("tracing: %s failed: %s: %s", what, type(exc).__name__, exc)
        return None


def _recorder() -> Any:
    """The SDK's recorder, configured (and the libraries patched) once per process."""
    address = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "")
    recorder = _state.get("recorder")
    if recorder is not None and _state.get("address") == address:
        return recorder
    with _lock:
        from aws_xray_sdk import global_sdk_config
        from aws_xray_sdk.core import xray_recorder

        # The SDK reads AWS_XRAY_SDK_ENABLED once, at first use; active() has the final say.
        global_sdk_config.set_sdk_enabled(True)
        options: dict[str, Any] = {
            "service": SERVICE_NAME,
            "context_missing": "IGNORE_ERROR",  # a call outside an invocation: no trace
            "sampling": False,  # our own segments (outside Lambda) are always recorded
        }
        if address:
            options["daemon_address"] = address
        xray_recorder.configure(**options)
        if not _state.get("patched"):
            _patch_libraries()
            _state["patched"] = True
        _state["in_lambda"] = type(xray_recorder.context).__name__ == "LambdaContext"
        _state["address"] = address
        _state["recorder"] = xray_recorder
        return xray_recorder


def install() -> bool:
    """Import, configure and patch now (else the first traced invocation does); traced?

    Only connections opened after this are traced: a test whose pool already holds
    connections disposes of them after calling it.
    """
    return active() and _guarded("setting up the recorder", _recorder) is not None


class _OutsideInvocations(logging.Filter):
    """Drops the SDK's warning for a patched call made outside an invocation (not traced
    on purpose: manage.py, tests' fixtures)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No segment found")


def _patch_libraries() -> None:
    from aws_xray_sdk.core import patch

    logging.getLogger("aws_xray_sdk.core.recorder").addFilter(_OutsideInvocations())

    for library in ("pymysql", "botocore"):
        _guarded(f"patching {library}", functools.partial(patch, [library]))
    _guarded("wrapping redis", _wrap_redis)


def _wrap_redis() -> None:
    import redis.client

    for cls, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
        original = getattr(cls, name)
        if getattr(original, "_shop_traced", False):
            continue
        setattr(cls, name, _traced_redis_call(original, pipeline=cls is redis.client.Pipeline))


def _traced_redis_call(original: Callable[..., Any], *, pipeline: bool) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(self: Any, *args: Any, **options: Any) -> Any:
        if _invocation.get() is None:
            return original(self, *args, **options)
        # The command's name only: keys and values (tokens' ids, carts) stay out of traces.
        if pipeline:
            queued = getattr(self, "command_stack", [])
            command = "PIPELINE " + " ".join(str(c[0][0]).upper() for c in queued if c and c[0])
        else:
            command = str(args[0] if args else "?").upper()
        with span("redis", command=command.strip()):
            return original(self, *args, **options)

    call._shop_traced = True  # type: ignore[attr-defined]
    return call


@contextlib.contextmanager
def invocation(name: str, **annotations: str | int) -> Iterator[None]:
    """Trace one request or job run as the subsegment `name` (see the module doc)."""
    if not active():
        yield
        return
    recorder = _guarded("setting up the recorder", _recorder)
    if recorder is None:
        yield
        return
    own_segment = not _state.get("in_lambda") and bool(
        _guarded("beginning a segment", lambda: recorder.begin_segment(SERVICE_NAME))
    )
    subsegment = _guarded(
        "beginning a subsegment", lambda: recorder.begin_subsegment(name, "local")
    )
    token = _invocation.set(subsegment if subsegment is not None else False)
    try:
        for key, value in annotations.items():
            annotate(key, value)
        yield
    except BaseException as exc:
        _add_exception(subsegment, exc)
        raise
    finally:
        _invocation.reset(token)
        if subsegment is not None:
            _guarded("ending a subsegment", recorder.end_subsegment)
        if own_segment:
            _guarded("ending a segment", recorder.end_segment)


@contextlib.contextmanager
def span(name: str, namespace: str = "remote", **metadata: str) -> Iterator[None]:
    """A subsegment for one outside call, inside a traced invocation (else nothing)."""
    recorder = _state.get("recorder")
    subsegment = None
    if recorder is not None and _invocation.get():
        subsegment = _guarded(
            "beginning a subsegment", lambda: recorder.begin_subsegment(name, namespace)
        )
        for key, value in metadata.items():
            _guarded("metadata", functools.partial(subsegment.put_metadata, key, value))
    try:
        yield
    except BaseException as exc:
        _add_exception(subsegment, exc)
        raise
    finally:
        if subsegment is not None and recorder is not None:
            _guarded("ending a subsegment", recorder.end_subsegment)


def _add_exception(subsegment: Any, exc: BaseException) -> None:
    if subsegment is None or not isinstance(exc, Exception):
        return
    stack = traceback.extract_tb(exc.__traceback__)
    _guarded("recording an exception", lambda: subsegment.add_exception(exc, stack))


def annotate(key: str, value: str | int | None) -> None:
    """Annotate the invocation under way (searchable in X-Ray); nothing when not traced."""
    subsegment = _invocation.get()
    if not subsegment or value is None or value == "":
        return
    _guarded(f"annotating {key}", lambda: subsegment.put_annotation(key, value))


def set_status(status_code: int) -> None:
    """The HTTP status of the request under way (fault/error/throttle flags)."""
    subsegment = _invocation.get()
    if subsegment:
        _guarded("status code", lambda: subsegment.apply_status_code(status_code))


def trace_methods(
    client: Any,
    name: str,
    methods: tuple[str, ...],
    *,
    order_id: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = None,
) -> Any:
    """Wrap `client`'s methods (on the instance) so each call is a subsegment `name`.

    Used by resources on the adapters it builds, so adapters need not know about tracing.
    `order_id(args, kwargs)` names the order a call is about, annotated on the invocation.
    """
    for method in methods:
        original = getattr(client, method, None)
        if original is None or getattr(original, "_shop_traced", False):
            continue
        setattr(client, method, _traced_method(original, name, method, order_id))
    return client


def _traced_method(
    original: Callable[..., Any],
    name: str,
    method: str,
    order_id: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None,
) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not _invocation.get():
            return original(*args, **kwargs)
        if order_id is not None:
            found = _guarded("order id", lambda: order_id(args, kwargs))
            annotate("order_id", str(found) if found else None)
        with span(name, operation=method):
            return original(*args, **kwargs)

    call._shop_traced = True  # type: ignore[attr-defined]
    return call
