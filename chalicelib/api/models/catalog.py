"""Request models of api/catalog.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.api.fields import MAX_ID, Id, QueryInt, RequestModel
from chalicelib.api.fields import PageQuery as PageQuery  # the comments' query
from chalicelib.services import catalog


def _ordering(value: str) -> str:
    if value not in catalog.ORDERINGS:
        raise ValueError(f"Must be one of: {', '.join(catalog.ORDERINGS)}.")
    return value


class SkuQuery(PageQuery):
    category: Annotated[QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    brand: Annotated[QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    ordering: Annotated[str, AfterValidator(_ordering)] = "-create_time"


class SearchQuery(PageQuery):
    q: str = Field(min_length=1, max_length=50)


class HistoryIn(RequestModel):
    sku_id: Id
