"""Field types shared by request models (pydantic), with the messages clients see."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic.fields import Field

from chalicelib.integers import ascii_int
from chalicelib.pagination import PageRequest

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{5,20}$", re.ASCII)
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is
# proven by the verification mail, not by a regex.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_ID = 10**15  # beyond any id we hand out, within every database's BIGINT


def _username(value: str) -> str:
    if not USERNAME_RE.fullmatch(value):
        raise ValueError("Use 5-20 letters, digits, _ or -.")
    return value


def _password(value: str) -> str:
    if not 8 <= len(value) <= 20:
        raise ValueError("Use 8-20 characters.")
    return value


def _mobile(value: str) -> str:
    if not MOBILE_RE.fullmatch(value):
        raise ValueError("Enter a mainland China mobile number (11 digits, 1[3-9]...).")
    return value


def _yuan(value: object) -> int:
    from chalicelib.money import parse_yuan

    return parse_yuan(value)


def _email(value: str) -> str:
    if value and (len(value) > 254 or not EMAIL_RE.fullmatch(value)):
        raise ValueError("Enter a valid email address.")
    return value


Username = Annotated[str, StringConstraints(max_length=100), AfterValidator(_username)]
Password = Annotated[str, StringConstraints(max_length=100), AfterValidator(_password)]
Mobile = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20), AfterValidator(_mobile)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_email)
]

# An address that must be given (the sign-up's Email may be empty).
RequiredEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_email),
]

# A money amount given as a decimal string ("5999.00"), parsed to integer fen.
Yuan = Annotated[int, BeforeValidator(_yuan)]

Text20 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A password as typed at login: not re-validated against today's rules, only bounded.
Secret = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# An id in a JSON body (a JSON number); QueryInt is an integer in a query string.
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
QueryInt = Annotated[int, BeforeValidator(ascii_int)]


class RequestModel(BaseModel):
    """Unknown fields are ignored, so never assigned (no mass assignment). Schemas are
    built on first use (defer_build) to keep them out of cold start."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class PageQuery(RequestModel):
    """`?page=1&pagesize=10`: page 1..1000000 (else 400), pagesize capped at 100 (not refused).
    Each list's query model (routing.parse_query) extends it; text values lose outer spaces."""

    model_config = ConfigDict(str_strip_whitespace=True)
    page: Annotated[QueryInt, Field(ge=1, le=1_000_000)] = 1
    pagesize: Annotated[QueryInt, Field(ge=1)] = 10

    @property
    def paging(self) -> PageRequest:
        return PageRequest(self.page, min(self.pagesize, 100))
