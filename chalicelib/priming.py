"""Priming: what a container's first request would do, done at init when init is ahead of
traffic.

Lambda initializes a provisioned-concurrency container before any request reaches it
(AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency), so its init is on no request's
path. app.py then calls prime(), which does at init what a first request would otherwise
pay for: import pydantic and the request models and build their validators (they are built
on first use), import PyJWT and fetch the JWT secret (Secrets Manager), connect to the
database (the pool keeps the connection, the dialect has read the server's version) and to
Redis. An on-demand container does none of it at import: there the work would only move
from the first request into the import, both on the same request's path
(docs/ARCHITECTURE.md, "Cold start").

Each step is guarded: a failure is logged and left to the first request that needs it,
which then fails or succeeds as it would have without priming; the import goes on.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger("shop.priming")

INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"  # set by Lambda during init
AHEAD_OF_TRAFFIC = "provisioned-concurrency"


def wanted() -> bool:
    """Does Lambda initialize this container ahead of traffic?"""
    return os.environ.get(INITIALIZATION_TYPE) == AHEAD_OF_TRAFFIC


def prime() -> dict[str, float]:
    """Run every step; seconds each took. Never raises."""
    steps: dict[str, Callable[[], object]] = {
        "request models": _request_models,
        "services": _services,
        "tokens": _tokens,
        "database": _database,
        "redis": _redis,
    }
    took = {}
    for name, step in steps.items():
        started = time.perf_counter()
        try:
            step()
        except Exception as exc:  # left to the first request that needs it
            log.warning("priming %s failed: %s: %s", name, type(exc).__name__, exc)
        took[name] = time.perf_counter() - started
    log.info("primed at init: %s", ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in took.items()))
    return took


def _import_every_module(package: ModuleType) -> None:
    import pkgutil  # not at import: app.py imports this module on every cold start

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def _request_models() -> None:
    from chalicelib.api import fields, models

    _import_every_module(models)
    todo = [fields.RequestModel]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        model.model_rebuild()  # defer_build: the validator is built now, not on first use


def _services() -> None:
    from chalicelib import services

    _import_every_module(services)


def _tokens() -> None:
    from chalicelib import auth, config

    auth.pyjwt()
    config.jwt_secret()


def _database() -> None:
    from sqlalchemy import text

    from chalicelib.db.engine import engine

    with engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _redis() -> None:
    from chalicelib import resources

    resources.redis().ping()
