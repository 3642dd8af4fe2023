"""Request models of api/orders.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.api.fields import Id, Lines500, PageQuery, QueryInt, RequestModel
from chalicelib.services.order_states import Status


class PlaceOrder(RequestModel):
    address_id: Id
    pay_method: Literal["alipay", "balance"]


class CommentIn(RequestModel):
    sku_id: Id
    score: Annotated[int, Field(strict=True, ge=1, le=5)]
    content: Lines500
    anonymous: Annotated[bool, Field(strict=True)] = False


class Comments(RequestModel):
    comments: Annotated[list[CommentIn], Field(min_length=1, max_length=100)]


class OrdersQuery(PageQuery):
    status: Annotated[QueryInt, Field(ge=Status.UNPAID, le=Status.CANCELLED)] | None = None
