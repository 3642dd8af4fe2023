"""Request models of api/admin/orders.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.api.fields import OptionalText200, PageQuery, RequestModel, Yuan


class NewStatus(RequestModel):
    status: Annotated[int, Field(strict=True, ge=1, le=6)]


class OrdersQuery(PageQuery):
    # An order id, or its start; longer keywords are cut to an order id's 32 digits.
    keyword: Annotated[str, AfterValidator(lambda s: s[:32])] = ""


class NewRefund(RequestModel):
    amount: Yuan | None = None  # default: what is left to refund
    reason: OptionalText200 = ""
