"""Request models of api/admin/skus.py. The console sends form values as strings ("12",
"true", "5999.00"): the admin types of api/fields.py take them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from chalicelib.api.fields import (
    AdminBool,
    AdminId,
    AdminInt,
    OptionalText200,
    PageQuery,
    RequestModel,
    Text20,
    Text50,
    Text100,
    Yuan,
)
from chalicelib.api.routing import field_errors
from chalicelib.money import MAX_FEN, format_yuan
from chalicelib.services import admin_skus

MAX_STOCK = 1_000_000_000
MAX_SPECS = 20


def _price(fen: int) -> int:
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"Must be between 0.00 and {format_yuan(MAX_FEN)}.")
    return fen


Price = Annotated[Yuan, AfterValidator(_price)]


class SpecChoice(RequestModel):
    spec_id: AdminId
    option_id: AdminId


# `specs` in either form: [{spec_id, option_id}] (the console's) or {name: value} (older).
_CHOICES = TypeAdapter(list[SpecChoice])
_NAMES = TypeAdapter(dict[Text20, Text50])


def _specs(value: object) -> list[tuple[int, int]] | dict[str, str]:
    """Errors inside are reported on `specs` itself, with where they are in the message."""
    adapter: TypeAdapter[Any]
    if isinstance(value, list):
        adapter = _CHOICES
    elif isinstance(value, dict):
        adapter = _NAMES
    else:
        raise ValueError("Give a list of {spec_id, option_id}, or {name: value}.")
    if len(value) > MAX_SPECS:
        raise ValueError(f"At most {MAX_SPECS} specs.")
    try:
        parsed = adapter.validate_python(value)
    except PydanticValidationError as exc:
        where, messages = next(iter(field_errors(exc).items()))
        raise ValueError(f"{where}: {messages[0]}") from None
    if isinstance(parsed, dict):
        return dict(parsed)
    return [(choice.spec_id, choice.option_id) for choice in parsed]


class SkuIn(RequestModel):
    name: Text100
    caption: OptionalText200 = ""
    price: Price
    cost_price: Price | None = None
    market_price: Price | None = None
    stock: Annotated[AdminInt, Field(ge=0, le=MAX_STOCK)]
    category_id: AdminId
    spu_id: AdminId | None = None
    specs: Annotated[Any, AfterValidator(_specs)] = Field(default_factory=list)
    is_launched: AdminBool = True

    def fields(self) -> admin_skus.SkuFields:
        return admin_skus.SkuFields(**self.model_dump())


class SkusQuery(PageQuery):
    # Part of a SKU's name, which is at most 100 characters.
    keyword: str = Field("", max_length=100)
