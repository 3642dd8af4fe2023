"""/meiduo_admin/users/: finding users by part of the username (wildcards literal),
creating users like a sign-up, and never a password in a response."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from chalicelib import auth
from chalicelib.clock import utcnow
from chalicelib.db.tables import users
from tests import factories
from tests.conftest import post_json

USER_KEYS = {"id", "username", "mobile", "email"}


def usernames(response: Any) -> list[str]:
    return [item["username"] for item in response.json_body["lists"]]


def user_total(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(users)) or 0)


@pytest.fixture
def named_users(db: Any) -> None:
    """Usernames with the characters LIKE treats as wildcards (imported accounts may
    contain `%`, which sign-up does not allow)."""
    joined = utcnow() - timedelta(days=1)
    with db.begin() as conn:
        for name in ("abc_def", "abcxdef", "100%sale", "1000sale", "ABC_upper", "zzz\\path"):
            factories.user(conn, date_joined=joined, username=name)


def search(client: Any, headers: dict[str, str], keyword: str, extra: str = "") -> Any:
    return client.http.get(f"/meiduo_admin/users/?keyword={quote(keyword)}{extra}", headers=headers)


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("_", ["abc_def", "ABC_upper"]),
        ("c_d", ["abc_def"]),
        ("%", ["100%sale"]),
        ("0%s", ["100%sale"]),
        ("\\", ["zzz\\path"]),
        ("abc", ["abc_def", "abcxdef", "ABC_upper"]),
        ("sale", ["100%sale", "1000sale"]),
        ("nobody", []),
    ],
)
def test_the_keyword_is_part_of_the_username_with_wildcards_taken_literally(
    client: Any, staff_headers: dict[str, str], named_users: None, keyword: str, expected: list[str]
) -> None:
    response = search(client, staff_headers, keyword)

    assert response.status_code == 200
    assert usernames(response) == expected
    assert response.json_body["count"] == len(expected)


def test_users_are_listed_by_page_without_passwords(
    client: Any, staff_headers: dict[str, str], named_users: None
) -> None:
    first = client.http.get("/meiduo_admin/users/?pagesize=4", headers=staff_headers)
    second = client.http.get("/meiduo_admin/users/?pagesize=4&page=2", headers=staff_headers)
    past_the_end = client.http.get("/meiduo_admin/users/?pagesize=4&page=3", headers=staff_headers)

    # The staff user was made first, then the six named ones: seven users, oldest first.
    assert {k: v for k, v in first.json_body.items() if k != "lists"} == {
        "count": 7,
        "page": 1,
        "pages": 2,
        "pagesize": 4,
    }
    assert usernames(first) == ["staffboss", "abc_def", "abcxdef", "100%sale"]
    assert usernames(second) == ["1000sale", "ABC_upper", "zzz\\path"]
    assert second.json_body["count"] == 7
    assert past_the_end.json_body["lists"] == []
    assert past_the_end.json_body["count"] == 7
    for item in first.json_body["lists"] + second.json_body["lists"]:
        assert set(item) == USER_KEYS


def test_a_common_keyword_counts_every_match_beyond_the_page(
    client: Any, staff_headers: dict[str, str], named_users: None
) -> None:
    response = search(client, staff_headers, "abc", "&pagesize=2")

    assert usernames(response) == ["abc_def", "abcxdef"]
    assert response.json_body["count"] == 3
    assert response.json_body["pages"] == 2


@pytest.mark.parametrize("query", ["keyword=" + "a" * 21, "page=0", "page=x"])
def test_bad_list_parameters_are_400(
    client: Any, staff_headers: dict[str, str], query: str
) -> None:
    response = client.http.get(f"/meiduo_admin/users/?{query}", headers=staff_headers)

    assert response.status_code == 400
    assert list(response.json_body) == [query.split("=")[0]]


def test_staff_create_a_user_whose_password_is_stored_hashed(
    client: Any, db: Any, staff_headers: dict[str, str]
) -> None:
    response = post_json(
        client,
        "/meiduo_admin/users/",
        {
            "username": "newbie01",
            "mobile": "13900000001",
            "password": "pass-word-1",
            "email": "newbie@example.com",
            "is_staff": True,
        },
        staff_headers,
    )

    assert response.status_code == 201
    assert response.json_body == {
        "id": response.json_body["id"],
        "username": "newbie01",
        "mobile": "13900000001",
        "email": "newbie@example.com",
    }
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == response.json_body["id"])).one()
    assert row.password.startswith("argon2$argon2id$")
    assert auth.verify_password("pass-word-1", row.password)
    assert (row.is_staff, row.is_superuser) == (False, False)
    listed = search(client, staff_headers, "newbie")
    assert listed.json_body["lists"] == [response.json_body]


def test_the_email_is_optional(client: Any, staff_headers: dict[str, str]) -> None:
    response = post_json(
        client,
        "/meiduo_admin/users/",
        {"username": "newbie02", "mobile": "13900000002", "password": "pass-word-2"},
        staff_headers,
    )

    assert response.status_code == 201
    assert response.json_body["email"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mobile": "13900000003", "password": "pass-word-3"}, "username"),
        ({"username": "ab", "mobile": "13900000003", "password": "pass-word-3"}, "username"),
        ({"username": "bad name!", "mobile": "13900000003", "password": "pass-word-3"}, "username"),
        ({"username": "newbie03", "password": "pass-word-3"}, "mobile"),
        ({"username": "newbie03", "mobile": "12900000003", "password": "pass-word-3"}, "mobile"),
        ({"username": "newbie03", "mobile": "13900000003"}, "password"),
        ({"username": "newbie03", "mobile": "13900000003", "password": "short"}, "password"),
        (
            {"username": "newbie03", "mobile": "13900000003", "password": "p" * 21},
            "password",
        ),
        (
            {
                "username": "newbie03",
                "mobile": "13900000003",
                "password": "pass-word-3",
                "email": "x",
            },
            "email",
        ),
    ],
)
def test_invalid_fields_are_400_naming_the_field_and_create_nothing(
    client: Any, db: Any, staff_headers: dict[str, str], body: dict[str, str], field: str
) -> None:
    before = user_total(db)

    response = post_json(client, "/meiduo_admin/users/", body, staff_headers)

    assert response.status_code == 400
    assert list(response.json_body) == [field]
    assert user_total(db) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"username": "taken_name", "mobile": "13900000009", "password": "pass-word-9"},
            "username",
        ),
        ({"username": "fresh_name", "mobile": "13900000005", "password": "pass-word-9"}, "mobile"),
    ],
)
def test_a_username_or_mobile_already_taken_is_a_400_on_that_field(
    client: Any,
    db: Any,
    make_user: Any,
    staff_headers: dict[str, str],
    body: dict[str, str],
    field: str,
) -> None:
    make_user("taken_name", mobile="13900000005")
    before = user_total(db)

    response = post_json(client, "/meiduo_admin/users/", body, staff_headers)

    assert response.status_code == 400
    assert list(response.json_body) == [field]
    assert "already exists" in response.json_body[field][0]
    assert user_total(db) == before


def test_no_response_carries_a_password_hash(
    client: Any, staff_headers: dict[str, str], named_users: None
) -> None:
    created = post_json(
        client,
        "/meiduo_admin/users/",
        {"username": "newbie04", "mobile": "13900000004", "password": "pass-word-4"},
        staff_headers,
    )
    listed = client.http.get("/meiduo_admin/users/?pagesize=100", headers=staff_headers)

    for body in (created.body, listed.body):
        assert b"argon2" not in body
        assert b"password" not in body
