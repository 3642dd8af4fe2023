"""Non-HTTP entry points: scheduled jobs and queue workers, thin.

JOBS maps a job's name to a plain function (also run by `manage.py runjob NAME`);
register() declares their schedules on the Chalice app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice

JOBS: dict[str, Callable[[], Any]] = {}
SCHEDULES: dict[str, str] = {}  # job name -> schedule expression, e.g. "rate(5 minutes)"


def register(app: Chalice) -> None:
    for name, expression in SCHEDULES.items():
        job = JOBS[name]

        def handler(event: Any, _job: Callable[[], Any] = job) -> Any:
            return _job()

        handler.__name__ = "job_" + name.replace("-", "_")
        app.schedule(expression, name=handler.__name__)(handler)
