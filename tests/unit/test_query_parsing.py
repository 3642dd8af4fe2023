"""The one strict integer parser and the query models built on it (no I/O)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import config
from chalicelib.api.fields import MAX_ID, PageQuery
from chalicelib.api.routing import parse_query, path_id
from chalicelib.config import ConfigError
from chalicelib.errors import NotFound, ValidationError
from chalicelib.integers import INVALID_INTEGER, ascii_int
from chalicelib.pagination import PageRequest

# Each is accepted by int() or str.isdigit() (or both), and refused here.
NOT_ASCII_INTEGERS = [
    "²",
    "①",
    "１２",
    "١٢",
    " 1",
    "1 ",
    "+1",
    "-1",
    "1_0",
    "1.0",
    "0x1",
    "1\n",
    "",
]


def request(**params: str) -> Any:
    """A request whose query string has these parameters, as chalice gives them (a
    MultiDict: a name may come more than once)."""
    from chalice.app import MultiDict

    return SimpleNamespace(query_params=MultiDict({k: [v] for k, v in params.items()}) or None)


@pytest.mark.parametrize("text", NOT_ASCII_INTEGERS)
def test_only_ascii_digits_are_an_integer(text: str) -> None:
    with pytest.raises(ValueError, match=INVALID_INTEGER):
        ascii_int(text)


@pytest.mark.parametrize(
    ("text", "number"), [("0", 0), ("7", 7), ("007", 7), ("9" * 20, 10**20 - 1)]
)
def test_ascii_digits_are_read(text: str, number: int) -> None:
    assert ascii_int(text) == number


def test_huge_numbers_are_refused_before_int_reads_them() -> None:
    with pytest.raises(ValueError, match=INVALID_INTEGER):
        ascii_int("9" * 5000)  # past int()'s 4300-digit limit: a ValueError, not a hang


@pytest.mark.parametrize("text", ["0", str(MAX_ID + 1), "²", "１２"])
def test_an_id_is_1_to_max_id(text: str) -> None:
    with pytest.raises(ValueError, match=INVALID_INTEGER):
        ascii_int(text, 1, MAX_ID)
    with pytest.raises(NotFound):
        path_id(text)
    assert ascii_int(str(MAX_ID), 1, MAX_ID) == path_id(str(MAX_ID)) == MAX_ID


def test_page_query_defaults_and_cap() -> None:
    assert parse_query(PageQuery, request()).paging == PageRequest(1, 10)
    assert parse_query(PageQuery, request(page="", pagesize="")).paging == PageRequest(1, 10)
    capped = parse_query(PageQuery, request(page="1000000", pagesize="1000", other="x"))
    assert capped.paging == PageRequest(1_000_000, 100)


@pytest.mark.parametrize("value", [*NOT_ASCII_INTEGERS[:-1], "0", "1000001", "9" * 30])
def test_a_bad_page_is_a_400_naming_it(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_query(PageQuery, request(page=value))

    assert list(raised.value.errors) == ["page"]


@pytest.mark.parametrize("value", ["²", "①", "１２", " 1", "+1", "1_0", "0"])
def test_a_bad_pagesize_is_a_400_naming_it(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_query(PageQuery, request(pagesize=value))

    assert list(raised.value.errors) == ["pagesize"]


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_query(PageQuery, request(page="²", pagesize="①"))

    assert raised.value.errors == {"page": [INVALID_INTEGER], "pagesize": [INVALID_INTEGER]}


@pytest.mark.parametrize("value", ["²", "１２", "+60", "6O", "1e3"])
def test_settings_integers_use_the_same_parser(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JWT_TTL_SECONDS", value)

    with pytest.raises(ConfigError, match="JWT_TTL_SECONDS must be an integer"):
        config._int("JWT_TTL_SECONDS", 86400, minimum=60)


def test_settings_integers_keep_their_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_TTL_SECONDS", "59")
    with pytest.raises(ConfigError, match="at least 60"):
        config._int("JWT_TTL_SECONDS", 86400, minimum=60)
    monkeypatch.setenv("JWT_TTL_SECONDS", " 120 ")  # the environment's spaces are trimmed
    assert config._int("JWT_TTL_SECONDS", 86400, minimum=60) == 120
