"""Request models of api/admin/permissions.py. Bodies take ids as numbers or numeric
strings, as the console sends them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from chalicelib.api.fields import (
    AdminId,
    AdminIds,
    Email,
    Mobile,
    OneLine,
    PageQuery,
    Password,
    RequestModel,
    Username,
)
from chalicelib.services import permissions, staff

CODENAME_RE = re.compile(r"[A-Za-z0-9_]+", re.ASCII)


def _codename(value: str) -> str:
    if not CODENAME_RE.fullmatch(value):
        raise ValueError("Use letters, digits and _ only (e.g. export_order).")
    return value


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _none_is_blank(value: object) -> object:
    return "" if value is None else value


PermissionName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), OneLine
]
Codename = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    OneLine,
    AfterValidator(_codename),
]
GroupName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150), OneLine
]
# The console sends back what GET gave it: a staff user without a mobile number has
# `null`, the form's empty fields are "", and an unchanged password is left out.
OptionalMobile = Annotated[Mobile | None, BeforeValidator(_blank_is_none)]
StaffEmail = Annotated[Email, BeforeValidator(_none_is_blank)]
OptionalPassword = Annotated[Password | None, BeforeValidator(_blank_is_none)]


class PermissionIn(RequestModel):
    name: PermissionName
    codename: Codename
    content_type: AdminId

    def fields(self) -> permissions.PermissionFields:
        return permissions.PermissionFields(self.name, self.codename, self.content_type)


class GroupIn(RequestModel):
    name: GroupName
    permissions: AdminIds = Field(default_factory=list)


class StaffIn(RequestModel):
    """A staff user as the console's form sends it; on a change the password may be left
    out or empty (it stays)."""

    username: Username
    password: OptionalPassword = None
    mobile: OptionalMobile = None
    email: StaffEmail = ""
    groups: AdminIds = Field(default_factory=list)
    user_permissions: AdminIds = Field(default_factory=list)

    def fields(self) -> staff.StaffFields:
        return staff.StaffFields(**self.model_dump())


class NewStaff(StaffIn):
    password: Password


class PermissionsQuery(PageQuery):
    ordering: Literal["id", "-id"] = "id"
