"""Non-HTTP entry points: scheduled jobs and queue workers, thin.

JOBS maps a job's name to a plain function (also run by `manage.py runjob NAME`);
register() declares their schedules on the Chalice app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.db.engine import transaction

# Each job is an entry point: it opens the units of work (or hands `transaction`, the
# unit-of-work factory, to a service that needs one unit per item) and passes in the
# clients its service uses. Service modules are imported when the job runs, not at
# cold start.


def rollup_stats() -> str:
    from chalicelib.services import statistics

    with transaction() as conn:
        return statistics.rollup_stats(
            conn, resources.redis(), now=utcnow(), tz=settings().shop_timezone
        )


def expire_orders() -> str:
    from chalicelib.services import orders

    return orders.expire_unpaid_orders(transaction, resources.alipay(), utcnow())


def reconcile_payments() -> str:
    from chalicelib.services import payments

    return payments.reconcile_payments(transaction, resources.alipay(), utcnow())


def retry_file_deletions() -> str:
    from chalicelib.services import images

    return images.retry_file_deletions(transaction, resources.storage())


# name -> the function that does the job (also run by `manage.py runjob NAME`)
JOBS: dict[str, Callable[[], Any]] = {
    "rollup-stats": rollup_stats,
    "expire-orders": expire_orders,
    "reconcile-payments": reconcile_payments,
    "retry-file-deletions": retry_file_deletions,
}
# name -> schedule expression, e.g. "rate(5 minutes)" or "cron(5 * * * ? *)"
SCHEDULES: dict[str, str] = {
    # Hourly, 5 minutes past: the run after midnight finalises the day that just ended.
    "rollup-stats": "cron(5 * * * ? *)",
    # Closes and cancels what nobody paid in time (an Alipay trade is closed first).
    "expire-orders": "rate(5 minutes)",
    # Settles what Alipay's notify missed while the order can still be paid.
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
