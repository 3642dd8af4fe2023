"""The admin API's lax input types take what the meiduo console sends (what Django REST
framework accepts) and nothing more; the storefront's models stay strict."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.api.fields import AdminBool, AdminId, AdminInt, RequestModel
from chalicelib.api.routing import field_errors


class Form(RequestModel):
    id: AdminId
    number: AdminInt = 0
    flag: AdminBool = False


def errors(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        Form.model_validate(data)
    return field_errors(raised.value)


@pytest.mark.parametrize(("raw", "value"), [(7, 7), ("7", 7), ("0012", 12), (10**15, 10**15)])
def test_ids_are_integers_or_numeric_strings(raw: Any, value: int) -> None:
    assert Form.model_validate({"id": raw}).id == value


@pytest.mark.parametrize(
    "raw", [0, "0", -1, "-1", "+1", " 1", "1 ", "1.0", 1.0, "1e3", "１２", "²", "", True, None, [1]]
)
def test_anything_else_is_not_an_id(raw: Any) -> None:
    assert list(errors({"id": raw})) == ["id"]


def test_ids_are_bounded_like_id() -> None:
    assert list(errors({"id": 10**15 + 1})) == ["id"]
    assert list(errors({"id": str(10**15 + 1)})) == ["id"]


@pytest.mark.parametrize(("raw", "value"), [(0, 0), ("12", 12), (-3, -3)])
def test_numbers_are_integers_or_numeric_strings(raw: Any, value: int) -> None:
    assert Form.model_validate({"id": 1, "number": raw}).number == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
    ],
)
def test_booleans_as_the_console_sends_them(raw: Any, value: bool) -> None:
    assert Form.model_validate({"id": 1, "flag": raw}).flag is value


@pytest.mark.parametrize("raw", ["yes", "on", "", 2, -1, 1.0, None, "t"])
def test_anything_else_is_not_a_boolean(raw: Any) -> None:
    assert errors({"id": 1, "flag": raw}) == {"flag": ["Must be a valid boolean."]}


def test_the_storefront_stays_strict() -> None:
    from chalicelib.api.cart import AddToCart

    with pytest.raises(ValidationError) as raised:
        AddToCart.model_validate({"sku_id": "1", "count": "2", "selected": "true"})

    assert sorted(field_errors(raised.value)) == ["count", "selected", "sku_id"]
