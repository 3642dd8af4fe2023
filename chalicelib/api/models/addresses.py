"""Request models of api/addresses.py."""

from __future__ import annotations

from typing import Any

from chalicelib.api.fields import Mobile, OptionalText20, RequestModel, Text20, Text50


class AddressIn(RequestModel):
    title: OptionalText20 = ""
    receiver: Text20
    province: Text20
    city: Text20
    district: Text20
    place: Text50
    mobile: Mobile

    def fields(self) -> dict[str, Any]:
        return self.model_dump()
