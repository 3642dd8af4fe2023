"""The admin API's lax inputs (api/fields.py): what DRF accepts from the meiduo console,
and nothing more; the storefront's Id stays strict."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from chalicelib.api.fields import AdminBool, AdminId, AdminIds, AdminInt, Id

admin_id = TypeAdapter(AdminId)
admin_ids = TypeAdapter(AdminIds)
admin_bool = TypeAdapter(AdminBool)
stock = TypeAdapter(Annotated[AdminInt, Field(ge=0, le=1_000_000_000)])


@pytest.mark.parametrize(("value", "expected"), [(12, 12), ("12", 12), ("000012", 12)])
def test_an_admin_id_is_a_number_or_a_numeric_string(value: Any, expected: int) -> None:
    assert admin_id.validate_python(value) == expected


@pytest.mark.parametrize(
    "value",
    [0, "0", -1, "-1", 10**15 + 1, True, 1.0, "1.0", " 1", "1 ", "１２", "²", "", None, [1]],
)
def test_anything_else_is_not_an_admin_id(value: Any) -> None:
    with pytest.raises(ValidationError):
        admin_id.validate_python(value)


def test_the_storefront_id_stays_strict() -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Id).validate_python("12")


def test_admin_ids_keep_the_first_of_each_and_are_bounded() -> None:
    assert admin_ids.validate_python(["3", 1, 3, "1"]) == [3, 1]
    with pytest.raises(ValidationError):
        admin_ids.validate_python("1,2")
    with pytest.raises(ValidationError):
        admin_ids.validate_python(list(range(1, 1002)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("true", True), ("False", False),
     ("TRUE", True), ("1", True), ("0", False)],
)  # fmt: skip
def test_an_admin_bool_takes_what_drf_and_the_console_send(value: Any, expected: bool) -> None:
    assert admin_bool.validate_python(value) is expected


@pytest.mark.parametrize("value", [2, -1, "yes!", "", " true", None, 1.0, "t r u e"])
def test_anything_else_is_not_an_admin_bool(value: Any) -> None:
    with pytest.raises(ValidationError):
        admin_bool.validate_python(value)


def test_an_admin_int_takes_numeric_strings_within_its_bounds() -> None:
    assert stock.validate_python("12") == 12
    assert stock.validate_python(0) == 0
    for bad in ("-1", "12.5", 12.0, "1e3", False, "1_000"):
        with pytest.raises(ValidationError):
            stock.validate_python(bad)
