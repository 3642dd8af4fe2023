"""Can this container reach what it needs? One check per backing service."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import text

from chalicelib import resources
from chalicelib.db.engine import engine

log = logging.getLogger("shop.health")


def _database() -> None:
    with engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _redis() -> None:
    resources.redis().ping()


def _storage() -> None:
    resources.storage().ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "redis": _redis,
    "storage": _storage,
}


def report() -> dict[str, str]:
    """{"status": "ok"|"unavailable", "<part>": "ok"|"unavailable", ...}; never raises."""
    body = {"status": "ok"}
    for name, check in CHECKS.items():
        try:
            check()
            body[name] = "ok"
        except Exception as exc:  # each failure is reported, none is raised
            log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            body[name] = "unavailable"
            body["status"] = "unavailable"
    return body
