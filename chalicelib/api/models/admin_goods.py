"""Request models of api/admin/goods.py: SPUs, specifications, options, brands (multipart:
name, first_letter, logo) and channels."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from chalicelib.api.fields import (
    AdminId,
    AdminInt,
    Image,
    OneLine,
    PageQuery,
    RequestModel,
    RichText,
    Text20,
    Text50,
)
from chalicelib.services import goods
from chalicelib.uploads import form_text

MAX_SEQUENCE = 1_000_000


# --- SPUs -----------------------------------------------------------------------------


class SpuIn(RequestModel):
    name: Text50
    brand_id: AdminId
    category1_id: AdminId
    category2_id: AdminId
    category3_id: AdminId
    desc_detail: RichText = ""
    desc_pack: RichText = ""
    desc_service: RichText = ""

    def fields(self) -> goods.SpuFields:
        return goods.SpuFields(**self.model_dump())


class GoodsQuery(PageQuery):
    keyword: str = Field("", max_length=50)  # part of an SPU's name


# --- specifications and options -------------------------------------------------------


class SpecIn(RequestModel):
    name: Text20
    spu_id: AdminId


class OptionIn(RequestModel):
    value: Text50
    spec_id: AdminId


# --- brands (multipart: name, first_letter, logo) -------------------------------------


def _first_letter(value: str) -> str:
    """One letter A-Z; a lowercase letter is taken as its capital ("h" -> "H")."""
    if not re.fullmatch(r"[A-Za-z]", value):
        raise ValueError("Enter one letter, A-Z.")
    return value.upper()


BrandName = Annotated[Text20, BeforeValidator(form_text)]
FirstLetter = Annotated[str, BeforeValidator(form_text), OneLine, AfterValidator(_first_letter)]


class NewBrand(RequestModel):
    name: BrandName
    first_letter: FirstLetter
    logo: Image


class ChangedBrand(RequestModel):
    name: BrandName
    first_letter: FirstLetter
    logo: Image | None = None  # absent: the logo is kept

    @model_validator(mode="before")
    @classmethod
    def empty_logo_is_absent(cls, data: Any) -> Any:
        """A browser sends an empty file part when no file was chosen: keep the logo."""
        logo = data.get("logo") if isinstance(data, dict) else None
        if logo is not None and not getattr(logo, "data", b"x") and not logo.filename:
            return {key: value for key, value in data.items() if key != "logo"}
        return data


# --- channels -------------------------------------------------------------------------


def _channel_url(value: str) -> str:
    """Where the storefront's menu links to: an http(s) URL or a path on the shop's site."""
    if not re.match(r"(https?://[^/\s]+|/(?!/))", value):
        raise ValueError("Enter an http:// or https:// URL, or a path starting with /.")
    return value


ChannelUrl = Annotated[
    str, Field(min_length=1, max_length=255), OneLine, AfterValidator(_channel_url)
]


class ChannelIn(RequestModel):
    group_id: AdminId
    category_id: AdminId
    url: ChannelUrl
    sequence: Annotated[AdminInt, Field(ge=0, le=MAX_SEQUENCE)]

    def fields(self) -> goods.ChannelFields:
        return goods.ChannelFields(**self.model_dump())
