"""Text fields refuse control characters, and every text field of a request body has the rule."""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import ValidationError as PydanticValidationError

import chalicelib.api
from chalicelib.api.fields import CONTROL_CHARACTERS, Lines, OneLine, PageQuery, RequestModel
from chalicelib.api.routing import field_errors
from tests.factories import ADDRESS

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n"]
PASSWORD_FIELDS = {"password", "old_password", "new_password", "admin_password"}


def errors_of(model: type[RequestModel], data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(PydanticValidationError) as raised:
        model.model_validate(data)
    return field_errors(raised.value)


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("field", ["title", "receiver", "city", "place"])
def test_an_address_field_with_a_control_character_is_named(control: str, field: str) -> None:
    from chalicelib.api.models.addresses import AddressIn

    data = {**ADDRESS, "title": "家", field: f"中关{control}村"}

    assert errors_of(AddressIn, data) == {field: [CONTROL_CHARACTERS]}


@pytest.mark.parametrize("control", CONTROLS)
def test_an_email_with_a_control_character_is_named(control: str) -> None:
    from chalicelib.api.models.accounts import SignUp

    data = {"username": "alice_01", "password": "password123", "email": f"a{control}@b.cn"}

    assert list(errors_of(SignUp, data)) == ["email"]


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("field", ["name", "caption"])
def test_a_sku_name_or_caption_with_a_control_character_is_named(control: str, field: str) -> None:
    from chalicelib.api.models.admin_skus import SkuIn

    data = {
        "name": "电视",
        "price": "1.00",
        "stock": 1,
        "category_id": 1,
        field: f"4K{control}电视",
    }

    assert errors_of(SkuIn, data) == {field: [CONTROL_CHARACTERS]}


def test_a_spec_name_or_value_with_a_control_character_is_refused() -> None:
    from chalicelib.api.models.admin_skus import SkuIn

    data = {"name": "电视", "price": "1.00", "stock": 1, "category_id": 1}

    assert "specs" in " ".join(errors_of(SkuIn, {**data, "specs": {"颜色\x00": "黑"}}))
    assert "specs" in " ".join(errors_of(SkuIn, {**data, "specs": {"颜色": "黑\x1b"}}))


def test_a_comment_may_have_line_breaks_but_no_other_control_character() -> None:
    from chalicelib.api.models.orders import CommentIn

    ok = CommentIn.model_validate({"sku_id": 1, "score": 5, "content": "好\r\n\t很好"})

    assert ok.content == "好\r\n\t很好"
    assert list(errors_of(CommentIn, {"sku_id": 1, "score": 5, "content": "好\x00"})) == ["content"]


def test_printable_text_in_any_script_is_kept() -> None:
    from chalicelib.api.models.addresses import AddressIn

    address = AddressIn.model_validate({**ADDRESS, "title": " Zuhause ", "place": "Straße 1 №2 😀"})

    assert (address.title, address.place) == ("Zuhause", "Straße 1 №2 😀")


# --- every text field of every request body carries the rule --------------------------


def _request_models() -> set[type[RequestModel]]:
    for module in pkgutil.walk_packages(chalicelib.api.__path__, "chalicelib.api."):
        importlib.import_module(module.name)
    found: set[type[RequestModel]] = set()
    todo = list(RequestModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.add(model)
        todo.extend(model.__subclasses__())
    # Query strings are read, never stored: PageQuery and the models that extend it.
    return {m for m in found if not issubclass(m, PageQuery) and not m.__name__.endswith("Query")}


def _strings(annotation: Any, metadata: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The metadata of each str inside an annotation (Annotated, unions, dicts, lists)."""
    if annotation is str:
        yield metadata
    elif get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        yield from _strings(base, metadata + tuple(extra))
    elif get_origin(annotation) in (Union, types.UnionType, dict, list, tuple, set, frozenset):
        for arg in get_args(annotation):
            yield from _strings(arg)


def test_every_text_field_of_a_request_body_refuses_control_characters() -> None:
    models = _request_models()
    unguarded = [
        f"{model.__module__}.{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if name not in PASSWORD_FIELDS
        for metadata in _strings(info.annotation, tuple(info.metadata))
        if OneLine not in metadata and Lines not in metadata
    ]

    assert len(models) >= 15
    assert unguarded == []
