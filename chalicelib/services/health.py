"""Can this container reach what it needs? One check per backing service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy import Engine

    from chalicelib.adapters.storage import Storage

log = logging.getLogger("shop.health")


def report(
    *,
    database: Callable[[], Engine],
    redis: Callable[[], Redis],
    storage: Callable[[], Storage],
) -> dict[str, str]:
    """{"status": "ok"|"unavailable", "<part>": "ok"|"unavailable", ...}; never raises.

    Takes the clients' factories, not the clients: building one (a bad URL, a secret
    that cannot be fetched) fails inside its check and is reported like a dead service.
    """

    def check_database() -> None:
        with database().connect() as conn:
            conn.execute(text("SELECT 1"))

    checks: dict[str, Callable[[], object]] = {
        "database": check_database,
        "redis": lambda: redis().ping(),
        "storage": lambda: storage().ping(),
    }
    body = {"status": "ok"}
    for name, check in checks.items():
        try:
            check()
            body[name] = "ok"
        except Exception as exc:  # each failure is reported, none is raised
            log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            body[name] = "unavailable"
            body["status"] = "unavailable"
    return body
