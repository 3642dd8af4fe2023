"""Structured logs: every log line is one JSON object on stdout.

`configure()` runs once per process, on the first request or job run (not at import:
LOG_LEVEL is read when used). It sets the `shop` loggers' level (LOG_LEVEL, default
INFO) and makes the root logger's output JSON: on Lambda, whose runtime has put its own
handler on the root logger, that handler gets our formatter; elsewhere a handler
writing to stdout is added. `shop.*` lines propagate to it as they always did, so the
existing lines (`shop.payments`' notify received, payments settled...) come out as JSON
too, carrying the request id of the invocation under way.

Fields: timestamp, level, logger, message, then the invocation's context (request_id,
and user_id once known), then what the line adds (`extra={"fields": {...}}`). An
exception is a field `error` {type, message, stack}. Secrets are kept out twice: no line
is built from a request's body, headers or query, and the formatter blanks what looks
like a JWT, a PEM key or a `password=`/`sign=`/`token=` pair in any text it writes,
and any field whose name says password, token, secret, sign or key.

Hand-written on stdlib logging + json instead of Powertools' Logger: measured here,
importing `aws_lambda_powertools` + `Logger()` costs 40-120 ms at cold start and ships
~2 MB zipped (7.6 MB unpacked); this module costs nothing (logging and json are loaded
already) and is the only part of it we would use.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

DEFAULT_LEVEL = "INFO"
REDACTED = "[redacted]"
# A record carrying this attribute is written unscrubbed: only the local outbox twin sets
# it, for the one-time verification link a `make run` user must be able to open (the
# twin exists on the local stage only; on AWS mail goes through SQS and is never logged).
LOCAL_LINK = "shop_local_link"
SECRET_FIELD = re.compile(r"pass(word)?|token|secret|sign|key|authorization", re.IGNORECASE)
SECRET_TEXT = [
    # a PEM block, or what is left of one (first: a named key's value must go whole)
    re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|$)", re.DOTALL),
    # password=..., "sign": "...", token: ... in a message or an exception text; before
    # the JWT rule, so a named token is blanked whole (and once)
    re.compile(
        r"""(?P<name>["']?\b(?:password|passwd|new_password|old_password|password2|token|sign|"""
        r"""secret|jwt_secret|private_key)\b["']?\s*[=:]\s*)(?!\[redacted\])"""
        r"""(?P<value>"[^"]*"|'[^']*'|[^\s,&;)}\]]+)""",
        re.IGNORECASE,
    ),
    # a JWT (header.payload.signature, base64url)
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
]

_context: ContextVar[dict[str, Any] | None] = ContextVar("shop_log_context", default=None)
_lock = threading.Lock()
_configured: dict[str, Any] = {}


def scrub(text: str) -> str:
    """`text` with anything that looks like a secret blanked."""
    for pattern in SECRET_TEXT:
        if "name" in pattern.groupindex:
            text = pattern.sub(lambda m: m.group("name") + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _clean(value: Any, key: str = "") -> Any:
    if key and SECRET_FIELD.search(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module doc)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": (
                record.getMessage()
                if getattr(record, LOCAL_LINK, False)
                else scrub(record.getMessage())
            ),
        }
        context = _context.get()
        if context:
            line.update(_clean(context))
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(_clean(fields))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["error"] = {
                "type": type(exc).__name__,
                "message": scrub(str(exc)),
                "stack": scrub(self.formatException(record.exc_info)),
            }
        return json.dumps(line, ensure_ascii=False, default=str)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (test capture swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure() -> None:
    """Make every log line JSON, once per process (see the module doc)."""
    level = (os.environ.get("LOG_LEVEL") or DEFAULT_LEVEL).strip().upper()
    if _configured.get("level") == level:
        return
    with _lock:
        if not isinstance(logging.getLevelName(level), int):
            level = DEFAULT_LEVEL
        logging.getLogger("shop").setLevel(level)
        if not _configured:
            root = logging.getLogger()
            on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
            runtime_handlers = [h for h in root.handlers if type(h).__module__ != "_pytest.logging"]
            if on_lambda and runtime_handlers:
                for handler in runtime_handlers:
                    handler.setFormatter(JsonFormatter())
            elif not any(isinstance(h, StdoutHandler) for h in root.handlers):
                handler = StdoutHandler()
                handler.setFormatter(JsonFormatter())
                root.addHandler(handler)
        _configured["level"] = level


def bind(**fields: Any) -> Any:
    """Start an invocation's context (request_id...); returns a token for `unbind`."""
    return _context.set(dict(fields))


def unbind(token: Any) -> None:
    _context.reset(token)


def add_context(**fields: Any) -> None:
    """Add to the context of the invocation under way (e.g. user_id once known)."""
    context = _context.get()
    if context is not None:
        context.update(fields)
