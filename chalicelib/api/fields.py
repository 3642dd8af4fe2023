"""Field types shared by request models (pydantic), with the messages clients see.

Only the request models (chalicelib/api/models/) import this module, so pydantic is
imported on the first request that validates something, not at cold start.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic.fields import Field

from chalicelib.integers import INVALID_INTEGER, MAX_ID, ascii_int
from chalicelib.pagination import PageRequest
from chalicelib.uploads import ImageUpload, form_text, image_from_part

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{5,20}$", re.ASCII)
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is
# proven by the verification mail, not by a regex.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


# C0 controls, DEL and C1 controls (Unicode category Cc): NUL, BEL, ESC, tabs, line breaks.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, less tab and line breaks: for the few fields that are free text over lines.
CONTROL_BUT_LINES_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS = "Control characters (such as NUL, ESC, tabs or line breaks) are not allowed."


def _one_line(value: str) -> str:
    """The rule of every text field: printable text on one line (no control characters)."""
    if CONTROL_RE.search(value):
        raise ValueError(CONTROL_CHARACTERS)
    return value


def _lines(value: str) -> str:
    """As _one_line, except that tabs and line breaks may separate lines of free text."""
    if CONTROL_BUT_LINES_RE.search(value):
        raise ValueError("Control characters (such as NUL or ESC) are not allowed.")
    return value


OneLine = AfterValidator(_one_line)
Lines = AfterValidator(_lines)


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


# Every text field a client sends is one of the types below, and each carries OneLine (or
# Lines): tests/unit/test_text_fields.py checks every request model for it. Passwords
# (Password, Secret) are exempt: they are hashed or compared, never stored or shown.
Username = Annotated[str, StringConstraints(max_length=100), OneLine, AfterValidator(_username)]
Password = Annotated[str, StringConstraints(max_length=100), AfterValidator(_password)]
Mobile = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20), OneLine, AfterValidator(_mobile)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), OneLine, AfterValidator(_email)
]

# An address that must be given (the sign-up's Email may be empty).
RequiredEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    OneLine,
    AfterValidator(_email),
]

# A signed token a client sends back (the email verification link's).
Token = Annotated[str, StringConstraints(min_length=1, max_length=2000), OneLine]

# A money amount given as a decimal string ("5999.00"), parsed to integer fen.
Yuan = Annotated[int, BeforeValidator(_yuan)]

# One line of text, outer spaces stripped: required (TextN) or may be empty (OptionalTextN).
Text20 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), OneLine
]
Text50 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), OneLine
]
Text100 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
]
OptionalText20 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), OneLine]
OptionalText200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine]
# Free text over lines (a comment): tabs and line breaks allowed, other controls not.
Lines500 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Lines
]
# HTML from the console's rich-text editor (SPU descriptions; may be empty), sanitized by
# the service before it is stored (chalicelib/richtext.py).
RichText = Annotated[str, StringConstraints(max_length=100_000), Lines]
# A password as typed at login: not re-validated against today's rules, only bounded.
Secret = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# An id in a JSON body (a JSON number); QueryInt is an integer in a query string.
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
QueryInt = Annotated[int, BeforeValidator(ascii_int)]


# Field types of multipart forms (chalicelib/uploads.py: read_form, then validate(Model, ...)).
Image = Annotated[ImageUpload, BeforeValidator(image_from_part)]
FormId = Annotated[int, BeforeValidator(lambda value: ascii_int(form_text(value), 1, MAX_ID))]


# --- the admin API's lax inputs (what Django REST framework accepts) -------------------
#
# The meiduo admin console sends form values as strings ("12", "true"); only /meiduo_admin/
# request models use these types, the storefront stays strict (Id, strict ints and bools).
# Exactly what docs/openapi.yaml's AdminId, AdminInt and AdminBool schemas allow, nothing
# more: no spaces, signs, decimals or other scripts' digits.


def _admin_int(value: object) -> object:
    """A JSON integer, or a numeric string of ASCII digits (chalicelib/integers.py)."""
    if isinstance(value, str):
        return ascii_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(INVALID_INTEGER)
    return value


def _admin_bool(value: object) -> bool:
    """true/false, 1/0, or the strings "true"/"false"/"1"/"0" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ValueError("Must be a valid boolean (true or false).")


# An integer as a JSON number or a numeric string; add bounds with Field(ge=..., le=...).
AdminInt = Annotated[int, BeforeValidator(_admin_int)]
# An id (1..MAX_ID) as a JSON number or a numeric string: 12 or "12".
AdminId = Annotated[int, BeforeValidator(_admin_int), Field(ge=1, le=MAX_ID)]
AdminBool = Annotated[bool, BeforeValidator(_admin_bool)]
MAX_ADMIN_IDS = 1000


def _distinct(ids: list[int]) -> list[int]:
    """The ids once each, in the order first given (the console may repeat one)."""
    return list(dict.fromkeys(ids))


# A list of ids in a body (a group's permissions, a staff user's groups).
AdminIds = Annotated[list[AdminId], Field(max_length=MAX_ADMIN_IDS), AfterValidator(_distinct)]


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
