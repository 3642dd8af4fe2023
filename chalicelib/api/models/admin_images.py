"""Request models of api/admin/images.py (multipart forms: fields `sku` and `image`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, model_validator

from chalicelib.api.fields import FormId, Image, RequestModel
from chalicelib.api.fields import PageQuery as PageQuery  # the images' list


class NewSkuImage(RequestModel):
    sku: FormId
    image: Image


class ChangedSkuImage(RequestModel):
    sku: FormId | None = None
    image: Image | None = None

    @model_validator(mode="after")
    def something_to_change(self) -> ChangedSkuImage:
        if self.sku is None and self.image is None:
            raise ValueError("Send an image, a sku, or both.")
        return self


def _flag(value: str) -> bool:
    if value.lower() not in ("true", "1", "false", "0"):
        raise ValueError("Must be true or false.")
    return value.lower() in ("true", "1")


class RemoveQuery(RequestModel):
    purge: Annotated[bool, BeforeValidator(_flag)] = False
