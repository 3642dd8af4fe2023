"""docs/openapi.yaml is a valid OpenAPI 3.1 document and lists exactly the app's routes."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.openapi_check import spec, spec_path

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
