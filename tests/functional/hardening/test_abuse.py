"""Abuse: paging extremes, oversized and deeply nested JSON and metacharacters in a path,
with exact statuses and proof that a refusal changed nothing (every table's row count).
Hostile text in every string field is test_strings.py, replays of every state-changing
route test_replays.py, races on MariaDB tests/integration/test_races.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import auth
from tests.conftest import ShopClient
from tests.functional.hardening.world import row_counts


@pytest.fixture
def callers(make_user: Any, auth_headers: Any) -> dict[str, dict[str, str]]:
    return {
        auth.PUBLIC: {"Content-Type": "application/json"},
        auth.USER: auth_headers(make_user("abuser")),
        auth.STAFF: auth_headers(make_user("abuse-staff", is_staff=True, is_superuser=True)),
    }


PAGED = [("/skus/", auth.PUBLIC), ("/orders/", auth.USER), ("/meiduo_admin/users/", auth.STAFF)]


@pytest.mark.parametrize(("path", "who"), PAGED)
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=0", 400),
        ("page=-1", 400),
        ("page=1000001", 400),
        ("page=99999999999999999999999", 400),
        ("page=1e3", 400),
        ("page=%EF%BC%91", 400),  # a full-width digit one
        ("pagesize=0", 400),
        ("pagesize=-5", 400),
        ("page=1000000", 200),
        ("pagesize=1000000", 200),  # capped at 100, not refused
        ("page=&pagesize=", 200),  # empty counts as absent
    ],
)
def test_paging_extremes(
    client: ShopClient, callers: Any, path: str, who: str, query: str, status: int
) -> None:
    response = client.http.get(f"{path}?{query}", headers=callers[who])
    assert response.status_code == status, response.body


def _json_routes() -> list[tuple[str, str, str]]:
    from app import app

    return sorted(
        (method, path, auth.access_of(entry.view_function) or "?")
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method in ("POST", "PUT") and entry.content_types == ["application/json"]
    )


def _concrete(path: str) -> str:
    import re

    return re.sub(r"{\w+}", "1", path) + "/"


@pytest.mark.parametrize(("method", "path", "who"), _json_routes())
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"a": "' + b"x" * 1_000_000 + b'"}', 413),
        (b"[" * 200_000 + b"]" * 200_000, 400),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400),
    ],
    ids=["1MB", "nested-arrays", "nested-objects"],
)
def test_oversized_and_deeply_nested_json_is_refused_and_changes_nothing(
    client: ShopClient, db: Any, callers: Any, method: str, path: str, who: str, body: bytes,
    status: int,
) -> None:  # fmt: skip
    before = row_counts(db)
    response = client.http.request(method, _concrete(path), headers=callers[who], body=body)
    # A route that reads no body (cancel, pay, ...) answers for the path's id: 404.
    assert response.status_code in (status, 404), response.body[:200]
    assert row_counts(db) == before


NASTY = [
    "' OR '1'='1",
    "');DROP TABLE x;--",
    '%_\\"\\\\',
    "家电😀𠀀",
    "ｆｕｌｌ　ｗｉｄｔｈ",
    "/*!50000 SELECT*/",
]


@pytest.mark.parametrize("value", NASTY)
def test_usernames_with_metacharacters_are_refused_or_counted(
    client: ShopClient, value: str
) -> None:
    from urllib.parse import quote

    response = client.http.get(f"/usernames/{quote(value, safe='')}/count/")
    assert response.status_code in (200, 404), response.body
    if response.status_code == 200:
        assert json.loads(response.body)["count"] == 0
