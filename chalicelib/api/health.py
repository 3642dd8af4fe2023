"""GET /health/: can this container reach what it needs?"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Response
from sqlalchemy import text

from chalicelib import resources
from chalicelib.api.routing import ApiBlueprint
from chalicelib.db.engine import engine

bp = ApiBlueprint(__name__)
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


@bp.route("/health/", methods=["GET"])
def health() -> Response:
    body = {"status": "ok"}
    for name, check in CHECKS.items():
        try:
            check()
            body[name] = "ok"
        except Exception as exc:  # each failure is reported, none is raised
            log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            body[name] = "unavailable"
            body["status"] = "unavailable"
    return Response(body=body, status_code=200 if body["status"] == "ok" else 503)
