"""Request models of api/cart.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.api.fields import Id, RequestModel
from chalicelib.services import cart

LineCount = Annotated[int, Field(strict=True, ge=1, le=cart.MAX_LINE_COUNT)]


class AddToCart(RequestModel):
    sku_id: Id
    count: LineCount = 1
    selected: Annotated[bool, Field(strict=True)] = True


class ChangeLine(RequestModel):
    count: LineCount | None = None
    selected: Annotated[bool, Field(strict=True)] | None = None


class Selection(RequestModel):
    selected: Annotated[bool, Field(strict=True)]
