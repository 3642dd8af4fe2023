"""Non-HTTP entry points: the scheduled jobs and the `migrate` function, thin.

They are module-level functions on a Blueprint, so the handler strings Chalice writes
into the package's template (`chalicelib.jobs.job_rollup_stats`, ...) name attributes
this module really has: Lambda imports this module and looks the name up. (Closures
registered in a loop gave `app.job_...` strings that Lambda could not find.) Lambda
imports only this module for them, not app.py and its blueprints.

Each job is an entry point: it says how long its statements may run
(`resources.job_statements()`, longer than a request's), opens the unit of work (or
hands `transaction`, the unit-of-work factory, to a service whose rule needs one unit
per item) and passes in the clients its service uses. It imports its service module
when it runs, not at cold start, and calls one service function. JOBS maps a job's
name to its handler for `manage.py runjob NAME`, which runs it the way EventBridge
does (`run_now`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.observability.entry import JobBlueprint
from chalicelib.resources import transaction

# Every handler registered on it logs one JSON line and is traced per run (observed_job).
bp = JobBlueprint(__name__)

# The mail queue the worker reads: `jiadian-shop-<stage>-mail`, the name the stage's IAM
# policy (.chalice/policy-<stage>.json) and the infrastructure give it. `chalice package
# --stage S` imports app.py with stage S's environment_variables set (SHOP_STAGE), and so
# does Lambda, so this decorator argument is per stage although it is evaluated at import.
MAIL_QUEUE = f"jiadian-shop-{os.environ.get('SHOP_STAGE') or 'local'}-mail"


# Hourly, 5 minutes past: the run after midnight finalises the day that just ended.
@bp.schedule("cron(5 * * * ? *)")
def job_rollup_stats(event: CloudWatchEvent) -> str:
    from chalicelib.services import statistics

    with resources.job_statements(), transaction() as conn:
        return statistics.rollup_stats(
            conn, resources.redis(), now=utcnow(), tz=settings().shop_timezone
        )


# Closes and cancels what nobody paid in time (an Alipay trade is closed first).
@bp.schedule("rate(5 minutes)")
def job_expire_orders(event: CloudWatchEvent) -> str:
    from chalicelib.services import orders

    with resources.job_statements():
        return orders.expire_unpaid_orders(transaction, resources.alipay(), utcnow())


# Settles what Alipay's notify missed while the order can still be paid.
@bp.schedule("rate(5 minutes)")
def job_reconcile_payments(event: CloudWatchEvent) -> str:
    from chalicelib.services import payments

    with resources.job_statements():
        return payments.reconcile_payments(transaction, resources.alipay(), utcnow())


# Files whose deletion failed after their commit (storage was down): try again.
@bp.schedule("rate(30 minutes)")
def job_retry_file_deletions(event: CloudWatchEvent) -> str:
    from chalicelib.services import images

    with resources.job_statements():
        return images.retry_file_deletions(transaction, resources.storage())


# Sends the mails the API queued (MAIL_URL sqs://...) through SES. One record per
# invocation: Chalice cannot switch on partial batch responses (ReportBatchItemFailures)
# for its SQS event sources, so a failed send raises, SQS makes the record visible again
# after the queue's visibility timeout, and after maxReceiveCount it goes to the
# dead-letter queue. Nothing is dropped, and no sent mail is repeated for a failed one.
# At most 2 at once (SQS's smallest maximum_concurrency): the stack reserves 2 for the
# worker, and pollers beyond its reserve would be throttled, and a throttled delivery
# counts as a receive: mail would reach the dead-letter queue without ever failing.
@bp.on_sqs_message(queue=MAIL_QUEUE, batch_size=1, maximum_concurrency=2)
def mail_worker(event: SQSEvent) -> str:
    from chalicelib.adapters.mailer import Mail

    mailer = resources.mailer()
    sent = [mailer.deliver(Mail.from_json(record.body)) for record in event]
    return f"sent {len(sent)}: {' '.join(sent)}"


# A pure Lambda function (no trigger): the deployment invokes it once per release,
# before traffic moves, so the schema is upgraded from inside the VPC with the stage's
# own DATABASE_URL. Its name is part of the infrastructure's contract.
@bp.lambda_function(name="migrate")
def migrate(event: Any, context: Any) -> dict[str, str | None]:
    from chalicelib.config import settings
    from chalicelib.migrations import upgrade_to_head

    before, after = upgrade_to_head(settings().database_url)
    return {"before": before, "after": after}


# name -> the scheduled handler (`manage.py runjob NAME`); the single list of job names.
JOBS: dict[str, Any] = {
    "rollup-stats": job_rollup_stats,
    "expire-orders": job_expire_orders,
    "reconcile-payments": job_reconcile_payments,
    "retry-file-deletions": job_retry_file_deletions,
}


def scheduled_event(now: datetime | None = None) -> dict[str, Any]:
    """An EventBridge "Scheduled Event", as Lambda receives it from a schedule rule."""
    time = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def run_now(name: str) -> Any:
    """Run the job NAME in this process through the same handler Lambda calls."""
    return JOBS[name](scheduled_event(), None)
