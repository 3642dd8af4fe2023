"""Request models of api/admin/statistics.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.api.fields import QueryInt, RequestModel
from chalicelib.services import statistics


def _report_days(days: int) -> int:
    if days > statistics.MAX_REPORT_DAYS:
        raise ValueError(f"Must be at most {statistics.MAX_REPORT_DAYS}.")
    return days


class SalesQuery(RequestModel):
    days: Annotated[QueryInt, Field(ge=1), AfterValidator(_report_days)] = 30
