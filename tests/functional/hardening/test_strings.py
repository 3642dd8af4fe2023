"""Unicode and SQL metacharacters in every string field, generated from docs/openapi.yaml.

Every string field of every JSON request body (following $ref, into arrays, and maps'
values and names), every text part of a multipart form and every free string query
parameter gets a set of hostile values, each in an otherwise valid
request built from routes.py's table. Whatever the value: never a 5xx, and either a 2xx
with the value stored and read back through the API exactly as sent, or a 400 naming the
field. Free text a route stores (no pattern or format) must be stored; control
characters, lone surrogates and one character over maxLength must be refused by name. On
the real pass this runs on MariaDB (utf8mb4, utf8mb4_unicode_ci), where 4-byte
characters and collations are where bugs show.

The LIKE searches (`q`, `keyword`) must take `%` and `_` literally.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.functional.hardening.routes import ROUTES, Case
from tests.functional.hardening.world import Call, World, row_counts
from tests.openapi_check import spec

# Printable values: a route that stores the field as free text must store them verbatim.
PRINTABLE = {
    "sql-metacharacters": "' \" ; -- /* */ \\ % _",
    "or-1-1": "' OR 1=1 --",
    "drop-table": "Robert'); DROP TABLE users;--",
    "backslash-quote": "\\' \\\" \\\\",
    "percent": "%",
    "underscore": "_",
    "rtl-override": "abc\u202edcba",
    "zero-width-joiners": "👨\u200d👩\u200d👧\u200d👦 a\u200db",
    "combining-marks": "e\u0301\u0302\u0303\u0304 Z\u0351\u0336",
    "4-byte": "家电😀𠀀🐉",
    "full-width": "１２３４５ ｆｕｌｌ　ｗｉｄｔｈ",
}
# Values every text field refuses, naming itself (passwords aside: hashed, never shown).
CONTROL = {"nul": "a\x00b", "escape": "a\x1b[31mb", "c1-control": "a\x85b"}
LONE_SURROGATE = "a\ud800b"  # json.dumps writes it as the escape "\ud800"


@dataclass(frozen=True)
class StringField:
    method: str
    path: str
    name: (
        str  # "receiver", "comments[].content", "specs.*" / "specs.<name>" (a map's values / names)
    )
    schema: dict[str, Any]
    where: str  # "body" (JSON), "form" (a multipart text part) or "query"

    @property
    def top(self) -> str:
        return self.name.split(".")[0].split("[")[0]

    @property
    def max_length(self) -> int | None:
        return self.schema.get("maxLength")

    @property
    def free_text(self) -> bool:
        return not {"pattern", "format", "enum"} & set(self.schema)

    @property
    def secret(self) -> bool:
        return "password" in self.name

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _strings(schema: dict[str, Any], prefix: str) -> list[tuple[str, dict[str, Any]]]:
    schema = _resolve(schema)
    found = []
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            found += _strings(sub, prefix)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += _strings(sub, f"{prefix}.{name}" if prefix else name)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            found += _strings(extra, f"{prefix}.*")
            names = schema.get("propertyNames", {})
            found.append((f"{prefix}.<name>", {"type": "string", **names}))
    elif "array" in types:
        found += _strings(schema["items"], prefix + "[]")
    elif "string" in types and "enum" not in schema:
        found.append((prefix, schema))
    return found


def string_fields() -> list[StringField]:
    fields = []
    for path, operations in spec()["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            content = _resolve(op.get("requestBody", {})).get("content", {})
            if "application/json" in content:
                for name, schema in _strings(content["application/json"]["schema"], ""):
                    fields.append(StringField(method.upper(), path, name, schema, "body"))
            if "multipart/form-data" in content:
                for name, schema in _strings(content["multipart/form-data"]["schema"], ""):
                    if schema.get("format") != "binary":  # text parts, not files
                        fields.append(StringField(method.upper(), path, name, schema, "form"))
            for param in op.get("parameters", []):
                param = _resolve(param)
                schema = _resolve(param.get("schema", {}))
                if (
                    param["in"] == "query"
                    and schema.get("type") == "string"
                    and "enum" not in schema
                ):
                    fields.append(StringField(method.upper(), path, param["name"], schema, "query"))
    return fields


FIELDS = string_fields()


def _parts(name: str) -> list[str]:
    return [p for p in name.replace("[]", ".[]").split(".") if p]


def set_field(body: Any, name: str, value: str) -> None:
    *parents, last = _parts(name)
    node = body
    for part in parents:
        node = node[0] if part == "[]" else node[part]
    if last == "[]":  # an array of strings' first item
        node[0] = value
    elif last == "*":  # a map's first value
        node[next(iter(node))] = value
    elif last == "<name>":  # a map's first name
        first = next(iter(node))
        node[value] = node.pop(first)
    else:
        node[last] = value


def get_field(body: Any, name: str) -> Any:
    node = body
    for part in _parts(name):
        if part == "[]":
            node = node[0]
        elif part == "*":
            node = next(iter(node.values()))
        elif part == "<name>":
            node = next(iter(node))
        else:
            node = node[part]
    return node


# --- the tables cover the spec -----------------------------------------------------------


def test_every_route_with_a_string_field_has_a_valid_request() -> None:
    routes = {(f.method, f.path) for f in FIELDS}
    missing = sorted(routes - set(ROUTES))
    assert missing == [], (
        "add a Case (how to build a valid request) for these routes to "
        f"tests/functional/hardening/routes.py: {missing}"
    )


def test_every_route_with_a_json_body_has_a_valid_request() -> None:
    with_body = sorted(
        (method.upper(), path)
        for path, operations in spec()["paths"].items()
        for method, op in operations.items()
        if method in ("post", "put", "patch", "delete")
        and "application/json" in _resolve(op.get("requestBody", {})).get("content", {})
    )
    assert [key for key in with_body if key not in ROUTES] == []


def test_every_stored_field_is_a_string_field_of_its_route() -> None:
    names = {(f.method, f.path): set() for f in FIELDS}
    for f in FIELDS:
        names[(f.method, f.path)].add(f.name)
    unknown = {
        key: sorted(case.stored - names.get(key, set()))
        for key, case in ROUTES.items()
        if case.stored - names.get(key, set())
    }
    assert unknown == {}


def test_the_walk_finds_nested_and_map_fields() -> None:
    names = {str(f) for f in FIELDS}
    assert {
        "POST /orders/{order_id}/comments/ body:comments[].content",
        "POST /meiduo_admin/skus/ body:specs.*",
        "POST /meiduo_admin/skus/ body:specs.<name>",
        "PUT /addresses/{address_id}/ body:receiver",
        "GET /search/ query:q",
    } <= names


# --- every value in every field ----------------------------------------------------------


def _values(field: StringField) -> dict[str, tuple[str, str]]:
    """name -> (value, what must happen: stored | refused | either)."""
    limit = field.max_length
    values: dict[str, tuple[str, str]] = {}
    for name, value in PRINTABLE.items():
        values[name] = (value[:limit] if limit else value, "printable")
    for name, value in CONTROL.items():
        values[name] = (value, "control")
    values["lone-surrogate"] = (LONE_SURROGATE, "surrogate")
    if limit:
        values["max-length-4-byte"] = ("😀" * limit, "printable")
        values["max-length-plus-1"] = ("😀" * (limit + 1), "too-long")
    return values


def _expected(field: StringField, case: Case, kind: str) -> str:
    if field.where == "query":
        # Nothing is stored: any value is answered (at most it finds nothing), but the
        # declared bounds hold.
        return "refused" if kind == "too-long" else "either"
    if kind in ("surrogate", "too-long") or (kind == "control" and not field.secret):
        return "refused"
    if field.name in case.stored and field.free_text:
        return "stored"
    return "either"


def _send(world: World, case: Case, field: StringField, value: str) -> tuple[Call, int, Any]:
    call = case.variants.get(field.name, case.build)(world)
    if field.where == "query":
        encoded = (
            "%ED%A0%80".join(quote(part, safe="") for part in value.split("\ud800"))
            if "\ud800" in value
            else quote(value, safe="")
        )
        extra = f"{field.name}={encoded}"
        pairs = [p for p in call.query.split("&") if p and not p.startswith(f"{field.name}=")]
        call.query = "&".join([*pairs, extra])
    elif field.where == "form":
        assert call.form is not None, f"{field}: the route's Case builds no form"
        call.form[field.name] = value
    else:
        set_field(call.body, field.name, value)
    status, answer = call.send(world.client)
    return call, status, answer


def _names(answer: Any, field: StringField) -> bool:
    return isinstance(answer, dict) and any(
        key == field.top or key.startswith(field.top + ".") for key in answer
    )


def _refused_as_declared(case: Case, status: int, answer: Any) -> bool:
    if case.refusal is None or status != case.refusal[0] or not isinstance(answer, dict):
        return False
    key = case.refusal[1]
    return key in answer or answer.get("code") == key


@pytest.mark.parametrize("field", FIELDS, ids=str)
def test_hostile_text_is_stored_verbatim_or_refused_by_name(
    client: Any, monkeypatch: pytest.MonkeyPatch, field: StringField
) -> None:
    monkeypatch.setenv("RECHARGE_ENABLED", "true")
    case = ROUTES[(field.method, field.path)]
    world = World(client)
    failures = []
    for name, (value, kind) in _values(field).items():
        expected = _expected(field, case, kind)
        call, status, answer = _send(world, case, field, value)
        shown = f"{name} ({expected}): {status} {json.dumps(answer, ensure_ascii=False)[:200]}"
        if status >= 500:
            failures.append(shown)
        elif 200 <= status < 300:
            if expected == "refused":
                failures.append(shown)
            elif field.name in case.stored and case.read is not None:
                stored = get_field(case.read(world, call, answer), field.name)
                if stored != value:
                    failures.append(f"{shown}; read back {stored!r}, sent {value!r}")
        elif status == 400 and _names(answer, field):
            if expected == "stored":
                failures.append(shown)
        elif expected == "either" and _refused_as_declared(case, status, answer):
            pass
        else:
            failures.append(shown)
    assert failures == [], "\n".join(failures)


# --- LIKE searches take % and _ literally ------------------------------------------------


def _found(world: World, path: str, headers: dict[str, str], param: str, value: str) -> set[Any]:
    status, answer = Call("GET", path, headers, query=urlencode({param: value})).send(world.client)
    assert status == 200, answer
    return {row["id"] if "id" in row else row["order_id"] for row in answer["lists"]}


def test_a_search_for_percent_or_underscore_finds_only_what_contains_it(client: Any) -> None:
    world = World(client)
    percent = world.sku(name="100%纯铜电机 风扇")
    underscore = world.sku(name="风扇 model_x")
    plain = world.sku(name="风扇 普通款")

    assert _found(world, "/search/", {}, "q", "%") == {percent}
    assert _found(world, "/search/", {}, "q", "_") == {underscore}
    assert _found(world, "/search/", {}, "q", "风扇") == {percent, underscore, plain}
    staff = world.staff_headers()
    assert _found(world, "/meiduo_admin/skus/", staff, "keyword", "%") == {percent}
    assert _found(world, "/meiduo_admin/skus/", staff, "keyword", "_") == {underscore}


def test_a_user_keyword_of_percent_or_underscore_finds_only_what_contains_it(
    client: Any,
) -> None:
    world = World(client)
    staff = world.staff_headers()
    with_underscore = world.token_user(username="with_underscore").id
    world.token_user(username="plainuser")

    assert _found(world, "/meiduo_admin/users/", staff, "keyword", "_") == {with_underscore}
    assert _found(world, "/meiduo_admin/users/", staff, "keyword", "%") == set()


def test_an_order_keyword_of_percent_or_underscore_finds_nothing(client: Any) -> None:
    world = World(client)
    world.order()
    staff = world.staff_headers()

    assert _found(world, "/meiduo_admin/orders/", staff, "keyword", "%") == set()
    assert _found(world, "/meiduo_admin/orders/", staff, "keyword", "_") == set()


# --- values equal in MariaDB's collation but not as text ----------------------------------

COLLATION_TWINS = {
    "case": ("Color", "color"),
    "full-width": ("ｃｏｌｏｒ", "color"),
    "4-byte": ("😀", "😁"),
    "accent": ("é", "e"),
}


@pytest.mark.parametrize("twins", COLLATION_TWINS.values(), ids=list(COLLATION_TWINS))
def test_spec_names_that_only_the_collation_confuses_are_kept_apart_or_refused_by_name(
    client: Any, db: Any, twins: tuple[str, str]
) -> None:
    # given a new SKU (the older body: specifications by name) whose two spec names differ
    # as text, not in utf8mb4_unicode_ci (they were a 500 on MariaDB: the unique
    # (sku_id, name) key refused the second)
    world = World(client)
    call = ROUTES[("POST", "/meiduo_admin/skus/")].variants["specs.<name>"](world)
    call.body["specs"] = {twins[0]: "一", twins[1]: "二"}
    before = row_counts(db)

    status, answer = call.send(client)

    # then both are kept (SQLite), or the specs are refused by name and nothing is written
    assert status in (201, 400), answer
    if status == 400:
        assert list(answer) == ["specs"]
        assert row_counts(db) == before
    else:
        stored = ROUTES[("POST", "/meiduo_admin/skus/")].read(world, call, answer)
        assert stored["specs"] == call.body["specs"]


# Routes whose field must be unique (among live rows, or of its parent), and the body's
# field: a second name equal to the first only in MariaDB's collation is kept apart
# (SQLite) or refused by name, never a duplicate-key 500.
UNIQUE_FIELDS = {
    ("POST", "/meiduo_admin/goods/brands/"): "name",
    ("POST", "/meiduo_admin/goods/specs/"): "name",
    ("POST", "/meiduo_admin/specs/options/"): "value",
    ("POST", "/meiduo_admin/permission/groups/"): "name",
    ("POST", "/meiduo_admin/permission/perms/"): "codename",
    ("POST", "/meiduo_admin/permission/admins/"): "username",
}
ASCII_ONLY = {"codename", "username"}  # patterns: letters, digits and _ (or -)


@pytest.mark.parametrize("key", list(UNIQUE_FIELDS), ids=" ".join)
@pytest.mark.parametrize("twins", COLLATION_TWINS.values(), ids=list(COLLATION_TWINS))
def test_unique_names_that_only_the_collation_confuses_are_kept_apart_or_refused_by_name(
    client: Any, db: Any, key: tuple[str, str], twins: tuple[str, str]
) -> None:
    name = UNIQUE_FIELDS[key]
    if name in ASCII_ONLY and not all(t.isascii() for t in twins):
        pytest.skip(f"{name} takes ASCII letters only")
    # given a row made with the first of two names equal only in utf8mb4_unicode_ci
    world = World(client)
    call = ROUTES[key].build(world)
    fields = call.form if call.form is not None else call.body
    suffix = world.username()[-6:]  # names of this test's own, collation twins still
    first, second = (twin + suffix for twin in twins)
    fields[name] = first
    status, answer = call.send(client)
    assert status == 201, answer
    before = row_counts(db)

    # when another is made, the same but for the second name
    fields[name] = second
    if "mobile" in fields:
        fields["mobile"] = world.mobile()
    status, answer = call.send(client)

    # then it is made (SQLite), or refused naming the field and nothing written
    assert status in (201, 400), answer
    if status == 400:
        assert list(answer) == [name]
        assert row_counts(db) == before
