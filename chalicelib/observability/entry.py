"""Observing the entry points: one log line and one trace per request and per job run.

- `http_middleware` (registered in app.py, inside api_middleware so it sees the view's
  dict body and our ApiErrors before they are rendered) logs one `shop.request` line
  per request: request_id, route, method, status, latency_ms, user_id when known,
  cold_start. It traces the request as `## METHOD /route`.
- `note_user(user_id)`: the routing layer tells who the request is for, once known.
- `JobBlueprint`: a Blueprint whose @schedule, @on_sqs_message and @lambda_function
  handlers are wrapped by `observed_job` (one `shop.job` line per run: job, outcome,
  latency_ms, cold_start, request_id; a failure logs its stack and is re-raised), so
  job bodies stay free of it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.observability import logs, tracing

request_log = logging.getLogger("shop.request")
job_log = logging.getLogger("shop.job")

_process = {"cold": True}


def _cold_start() -> bool:
    cold = _process["cold"]
    _process["cold"] = False
    return cold


def _milliseconds(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    logs.configure()
    context = request.context or {}
    route = context.get("resourcePath") or request.path
    method = request.method
    request_id = getattr(request.lambda_context, "aws_request_id", None) or context.get("requestId")
    token = logs.bind(request_id=request_id)
    cold_start = _cold_start()
    status = 500
    try:
        with tracing.invocation(f"## {method} {route}", route=route, method=method):
            _annotate_order((request.uri_params or {}).get("order_id"))
            try:
                response = get_response(request)
            except Exception as exc:
                status = int(getattr(exc, "status_code", 500))
                tracing.set_status(status)
                raise
            status = response.status_code
            tracing.set_status(status)
            if isinstance(response.body, dict):
                _annotate_order(response.body.get("order_id"))
            return response
    finally:
        fields = {
            "route": route,
            "method": method,
            "status": status,
            "latency_ms": _milliseconds(started),
            "cold_start": cold_start,
        }
        level = logging.ERROR if status >= 500 else logging.INFO
        request_log.log(level, "%s %s %s", method, route, status, extra={"fields": fields})
        logs.unbind(token)


def _annotate_order(order_id: Any) -> None:
    if isinstance(order_id, str) and order_id:
        tracing.annotate("order_id", order_id)
        logs.add_context(order_id=order_id)


def note_user(user_id: int) -> None:
    """The request is for this user: in its log lines and its trace."""
    logs.add_context(user_id=user_id)
    tracing.annotate("user_id", user_id)


def observed_job(func: Callable[..., Any]) -> Callable[..., Any]:
    """One log line and one trace per run of a non-HTTP handler (see the module doc)."""
    name = func.__name__

    @functools.wraps(func)
    def run(event: Any, *args: Any) -> Any:
        started = time.perf_counter()
        logs.configure()
        context = args[0] if args else getattr(event, "context", None)
        token = logs.bind(request_id=getattr(context, "aws_request_id", None))
        fields: dict[str, Any] = {"job": name, "cold_start": _cold_start()}
        try:
            with tracing.invocation(f"## {name}", job=name):
                result = func(event, *args)
        except Exception:
            fields.update(outcome="error", latency_ms=_milliseconds(started))
            job_log.exception("job %s failed", name, extra={"fields": fields})
            raise
        else:
            fields.update(outcome="ok", latency_ms=_milliseconds(started))
            if isinstance(result, str):
                fields["result"] = result
            job_log.info("job %s ok", name, extra={"fields": fields})
            return result
        finally:
            logs.unbind(token)

    return run


class JobBlueprint(Blueprint):
    """A Blueprint whose event handlers are `observed_job`s."""

    def schedule(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        register = super().schedule(*args, **kwargs)
        return lambda func: register(observed_job(func))

    def on_sqs_message(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        register = super().on_sqs_message(*args, **kwargs)
        return lambda func: register(observed_job(func))

    def lambda_function(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        register = super().lambda_function(*args, **kwargs)
        return lambda func: register(observed_job(func))
