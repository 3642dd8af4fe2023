"""docs/openapi.yaml is a valid OpenAPI 3.1 document and lists exactly the app's routes,
with every query parameter a route reads and its limits."""

from __future__ import annotations

import functools
import inspect
import re
import typing
from typing import Any

from openapi_spec_validator import validate
from pydantic.fields import FieldInfo

from tests.openapi_check import _resolve, spec, spec_path

METHODS = {"get", "put", "post", "delete", "patch"}


def app_operations() -> set[tuple[str, str]]:
    from app import app

    return {
        (spec_path(path), method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if method != "OPTIONS"
    }


def spec_operations() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in spec()["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_spec_is_valid_openapi_3_1() -> None:
    validate(spec())
    assert spec()["openapi"].startswith("3.1")


def test_every_route_of_the_app_is_documented() -> None:
    missing = app_operations() - spec_operations()
    assert missing == set(), f"routes missing from docs/openapi.yaml: {sorted(missing)}"


def test_every_documented_route_exists() -> None:
    stale = spec_operations() - app_operations()
    assert stale == set(), f"docs/openapi.yaml documents routes the app lacks: {sorted(stale)}"


def test_every_path_answers_preflights() -> None:
    from app import app

    assert all("OPTIONS" in methods for methods in app.routes.values())


def _query_models() -> list[tuple[str, str, Any]]:
    """(path, method, model) for every view that reads its query string with parse_query."""
    from app import app

    found = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            view = inspect.unwrap(entry.view_function)
            # parse_query(models.SkuQuery, ...): the models module, then the model in it
            for name in re.findall(r"parse_query\(([\w.]+)", inspect.getsource(view)):
                first, *rest = name.split(".")
                model = functools.reduce(getattr, rest, view.__globals__[first])
                found.append((spec_path(path), method.lower(), model))
    return found


def _documented_query(path: str, method: str) -> dict[str, dict[str, Any]]:
    item = spec()["paths"][path]
    params = [_resolve(p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
    return {p["name"]: p for p in params if p["in"] == "query"}


def _constraints(field: Any) -> list[Any]:
    """The field's constraint objects, also those of `X | None` and nested Field(...)s."""
    found = list(field.metadata)
    for member in typing.get_args(field.annotation):
        found += getattr(member, "__metadata__", ())
    while any(isinstance(meta, FieldInfo) for meta in found):
        found = [
            m for meta in found for m in (meta.metadata if isinstance(meta, FieldInfo) else [meta])
        ]
    return found


def _bounds(field: Any) -> dict[str, Any]:
    names = {"ge": "minimum", "le": "maximum", "min_length": "minLength", "max_length": "maxLength"}
    return {
        key: getattr(meta, attr)
        for meta in _constraints(field)
        for attr, key in names.items()
        if getattr(meta, attr, None) is not None
    }


def test_every_query_model_is_documented_with_its_limits() -> None:
    models = _query_models()
    assert len(models) >= 11  # every list, search, the sales report, image removal

    for path, method, model in models:
        documented = _documented_query(path, method)
        where = f"{method.upper()} {path}"
        assert set(documented) == set(model.model_fields), f"{where}: query parameters differ"
        for name, field in model.model_fields.items():
            param = documented[name]
            schema = _resolve(param["schema"])
            assert param.get("required", False) == field.is_required(), f"{where} {name}"
            if "enum" in schema:
                schema = {"minimum": min(schema["enum"]), "maximum": max(schema["enum"]), **schema}
            if "default" in schema:
                assert schema["default"] == field.default, f"{where} {name}: default differs"
            for key, value in _bounds(field).items():
                assert schema.get(key) == value, f"{where} {name}: {key} is {value} in the model"
