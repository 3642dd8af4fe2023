"""Checks every response the functional tests see against docs/openapi.yaml.

The `client` fixture routes each response through `check_response`: the path and
method must be documented, the status code must be listed for that operation (or be
one of the errors any route can give), and a JSON body must match its schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
# Errors any route can answer with; documented once in components.responses.
ANY_ROUTE_STATUSES = {
    "405": "MethodNotAllowed",
    "413": "TooLarge",
    "415": "UnsupportedMediaType",
    "500": "InternalError",
    "503": "ServiceUnavailable",
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


@cache
def _registry() -> Registry:
    return Registry().with_resource("urn:openapi", DRAFT202012.create_resource(spec()))


def _absolute_refs(node: Any) -> Any:
    """Point '#/components/...' refs of an inline schema at the whole spec."""
    if isinstance(node, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#/") else _absolute_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


def spec_path(route: str) -> str:
    """Chalice route '/addresses/{address_id}' -> documented '/addresses/{address_id}/'."""
    return route if route.endswith("/") else route + "/"


def operation(route: str, method: str) -> dict[str, Any]:
    paths = spec()["paths"]
    path = spec_path(route)
    assert path in paths, f"{path} is missing from docs/openapi.yaml"
    op = paths[path].get(method.lower())
    assert op is not None, f"{method} {path} is missing from docs/openapi.yaml"
    return op


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = spec()
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def check_unknown_path(status: int, headers: dict[str, str], body: bytes) -> None:
    """A path no route has: the documented 404 (components.responses.UnknownPath)."""
    assert status == 404, f"an unknown path answered {status}, not 404"
    response = _resolve({"$ref": "#/components/responses/UnknownPath"})
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator(_absolute_refs(schema), registry=_registry())
    errors = list(validator.iter_errors(json.loads(body)))
    assert not errors, f"an unknown path's 404 does not match the spec: {errors[0].message}"


def check_response(
    route: str, method: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    if method == "OPTIONS":
        return  # preflights are generated for every path and documented once
    if status == 405:  # the method is not the route's: there is no operation to look up
        assert spec_path(route) in spec()["paths"], f"{spec_path(route)} is missing from the spec"
        responses: dict[str, Any] = {}
    else:
        responses = operation(route, method).get("responses", {})
    key = str(status)
    if key in responses:
        response = _resolve(responses[key])
    elif key in ANY_ROUTE_STATUSES:
        response = _resolve({"$ref": f"#/components/responses/{ANY_ROUTE_STATUSES[key]}"})
    else:
        raise AssertionError(
            f"{method} {spec_path(route)} answered {status}, which docs/openapi.yaml does not list"
        )
    content = response.get("content")
    if not content or not body:
        return
    content_type = (headers.get("content-type") or headers.get("Content-Type") or "").split(";")[0]
    media = content.get(content_type)
    assert media is not None, (
        f"{method} {spec_path(route)} {status}: content type {content_type!r} is not documented"
    )
    if content_type != "application/json" or "schema" not in media:
        return
    instance = json.loads(body)
    validator = Draft202012Validator(_absolute_refs(media["schema"]), registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise AssertionError(
            f"{method} {spec_path(route)} {status} does not match docs/openapi.yaml at "
            f"'{where}': {first.message}"
        )
