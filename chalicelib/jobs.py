"""Non-HTTP entry points: scheduled jobs and queue workers, thin.

JOBS maps a job's name to a plain function (also run by `manage.py runjob NAME`);
register() declares their schedules on the Chalice app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice


def _lazy(module: str, function: str) -> Callable[[], Any]:
    """Import the job's service module when the job runs, not at cold start."""

    def run() -> Any:
        import importlib

        return getattr(importlib.import_module(module), function)()

    run.__name__ = function
    return run


# name -> the function that does the job (each area adds its own line)
JOBS: dict[str, Callable[[], Any]] = {
    "rollup-stats": _lazy("chalicelib.services.statistics", "rollup_stats"),
    "expire-orders": _lazy("chalicelib.services.orders", "expire_unpaid_orders"),
    "reconcile-payments": _lazy("chalicelib.services.payments", "reconcile_payments"),
    "retry-file-deletions": _lazy("chalicelib.services.images", "retry_file_deletions"),
}
# name -> schedule expression, e.g. "rate(5 minutes)" or "cron(5 * * * ? *)"
SCHEDULES: dict[str, str] = {
    # Hourly, 5 minutes past: the run after midnight finalises the day that just ended.
    "rollup-stats": "cron(5 * * * ? *)",
    "expire-orders": "rate(5 minutes)",
    # Settles what Alipay's notify missed; closes and cancels trades nobody paid in time.
    "reconcile-payments": "rate(5 minutes)",
    # Files whose deletion failed after their commit (storage was down): try again.
    "retry-file-deletions": "rate(30 minutes)",
}


def register(app: Chalice) -> None:
    for name, expression in SCHEDULES.items():
        job = JOBS[name]

        def handler(event: Any, _job: Callable[[], Any] = job) -> Any:
            return _job()

        handler.__name__ = "job_" + name.replace("-", "_")
        app.schedule(expression, name=handler.__name__)(handler)
