"""Sign-up, username checks, login with throttling, logout, profile, password changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from chalicelib import auth
from chalicelib.db.tables import users
from chalicelib.errors import ValidationError
from tests.conftest import json_headers, post_json, put_json


def user_count(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(users)))


def stored_user(db: Any, username: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(users).where(users.c.username == username)).first()


# --- sign-up -----------------------------------------------------------------------------


def test_signing_up_creates_a_logged_in_account(client: Any, db: Any) -> None:
    response = post_json(
        client,
        "/users/",
        {
            "username": "alice_01",
            "password": "password123",
            "email": "alice@example.com",
            "mobile": "13812345678",
        },
    )

    assert response.status_code == 201
    body = response.json_body
    assert body["username"] == "alice_01"
    assert body["email"] == "alice@example.com"
    assert body["mobile"] == "13812345678"
    assert auth.decode_token(body["token"])["sub"] == str(body["id"])
    row = stored_user(db, "alice_01")
    assert row.password.startswith("argon2$argon2id$")
    assert "password123" not in row.password


def test_privileged_fields_sent_at_sign_up_are_ignored(client: Any, db: Any) -> None:
    response = post_json(
        client,
        "/users/",
        {
            "username": "mallory",
            "password": "password123",
            "is_staff": True,
            "is_superuser": True,
            "balance": "99999.00",
            "email_active": True,
            "is_active": False,
            "token_version": 9,
        },
    )

    assert response.status_code == 201
    row = stored_user(db, "mallory")
    assert (
        row.is_staff,
        row.is_superuser,
        row.balance,
        row.email_active,
        row.is_active,
        row.token_version,
    ) == (False, False, 0, False, True, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "password123"}, "username"),
        ({"username": "alice_01"}, "password"),
        ({"username": "abc", "password": "password123"}, "username"),
        ({"username": "a" * 21, "password": "password123"}, "username"),
        ({"username": "alice 01", "password": "password123"}, "username"),
        ({"username": "alice01\n", "password": "password123"}, "username"),
        ({"username": "用户名字很长", "password": "password123"}, "username"),
        ({"username": 12345678, "password": "password123"}, "username"),
        ({"username": "alice_01", "password": "short"}, "password"),
        ({"username": "alice_01", "password": "p" * 21}, "password"),
        ({"username": "alice_01", "password": ["password123"]}, "password"),
        ({"username": "alice_01", "password": "password123", "mobile": "12812345678"}, "mobile"),
        ({"username": "alice_01", "password": "password123", "mobile": 13812345678}, "mobile"),
        ({"username": "alice_01", "password": "password123", "email": "not-an-email"}, "email"),
        ({"username": "x" * 100_000, "password": "password123"}, "username"),
    ],
)
def test_bad_sign_ups_name_the_field_and_write_nothing(
    client: Any, db: Any, body: dict[str, Any], field: str
) -> None:
    response = post_json(client, "/users/", body)

    assert response.status_code == 400
    assert field in response.json_body
    assert isinstance(response.json_body[field], list)
    assert user_count(db) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"{",
        b'{"username": "\xff\xfe"}',
        b"[" * 100_000,
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client: Any, db: Any, raw: bytes) -> None:
    response = client.http.post("/users/", body=raw, headers=json_headers())

    assert response.status_code == 400
    assert list(response.json_body) == ["non_field_errors"]
    assert user_count(db) == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"username": "ab\\udc80cdef", "password": "password123"}', "username"),
        (b'{"username": "abcdef", "password": "pass\\ud800word"}', "password"),
        (b'{"username": "abcdef", "password": "password123", "x": [{"\\ud800": 1}]}', "x.0"),
        (b'{"\\ud800": 1}', "non_field_errors"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_its_field(
    client: Any, db: Any, raw: bytes, field: str
) -> None:
    # JSON may escape half a surrogate pair ("\\udc80"); no UTF-8 column or hash takes it
    response = client.http.post("/users/", body=raw, headers=json_headers())

    assert response.status_code == 400
    assert list(response.json_body) == [field]
    assert user_count(db) == 0


def test_duplicate_username_and_mobile_are_400s_on_those_fields(
    client: Any, db: Any, make_user: Any
) -> None:
    make_user("alice_01", mobile="13812345678")

    response = post_json(
        client,
        "/users/",
        {"username": "alice_01", "password": "password123", "mobile": "13812345678"},
    )

    assert response.status_code == 400
    assert set(response.json_body) == {"username", "mobile"}
    assert user_count(db) == 1


def test_username_count_says_whether_a_name_is_taken(client: Any, make_user: Any) -> None:
    make_user("alice_01")

    assert client.http.get("/usernames/alice_01/count/").json_body == {
        "username": "alice_01",
        "count": 1,
    }
    assert client.http.get("/usernames/bob_0001/count/").json_body == {
        "username": "bob_0001",
        "count": 0,
    }


# --- login ---------------------------------------------------------------------------------


def test_logging_in_returns_a_token_and_records_the_login(
    client: Any, db: Any, make_user: Any
) -> None:
    user = make_user("alice_01", "password123")

    response = post_json(
        client, "/authorizations/", {"username": "alice_01", "password": "password123"}
    )

    assert response.status_code == 200
    assert response.json_body["user_id"] == user.id
    assert response.json_body["username"] == "alice_01"
    assert auth.decode_token(response.json_body["token"])["sub"] == str(user.id)
    assert stored_user(db, "alice_01").last_login is not None


@pytest.mark.parametrize(
    ("username", "password"), [("alice_01", "wrong-password"), ("nobody_here", "password123")]
)
def test_bad_credentials_are_a_non_field_400(
    client: Any, make_user: Any, username: str, password: str
) -> None:
    make_user("alice_01", "password123")

    response = post_json(client, "/authorizations/", {"username": username, "password": password})

    assert response.status_code == 400
    assert response.json_body == {
        "non_field_errors": ["Unable to log in with the provided credentials."]
    }


def test_five_failures_lock_the_username_for_any_password(client: Any, make_user: Any) -> None:
    make_user("alice_01", "password123")
    for _ in range(5):
        assert (
            post_json(
                client, "/authorizations/", {"username": "alice_01", "password": "nope-nope"}
            ).status_code
            == 400
        )

    response = post_json(
        client, "/authorizations/", {"username": "ALICE_01", "password": "password123"}
    )

    assert response.status_code == 429
    assert response.json_body["code"] == "throttled"
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    # other usernames are not affected
    make_user("bob_0001", "password123")
    assert (
        post_json(
            client, "/authorizations/", {"username": "bob_0001", "password": "password123"}
        ).status_code
        == 200
    )


def test_failures_older_than_the_window_no_longer_count(
    client: Any, make_user: Any, redis: Any
) -> None:
    make_user("alice_01", "password123")
    key = "auth:login-failures:alice_01"
    redis.zadd(key, {f"old{i}": 1_000_000 + i for i in range(10)})  # long ago

    response = post_json(
        client, "/authorizations/", {"username": "alice_01", "password": "password123"}
    )

    assert response.status_code == 200
    assert redis.exists(key) == 0


def test_a_successful_login_clears_earlier_failures(
    client: Any, make_user: Any, redis: Any
) -> None:
    make_user("alice_01", "password123")
    for _ in range(4):
        post_json(client, "/authorizations/", {"username": "alice_01", "password": "nope-nope"})

    assert (
        post_json(
            client, "/authorizations/", {"username": "alice_01", "password": "password123"}
        ).status_code
        == 200
    )
    assert redis.exists("auth:login-failures:alice_01") == 0


def test_a_django_pbkdf2_password_logs_in_and_is_upgraded(
    client: Any, db: Any, make_user: Any
) -> None:
    user = make_user("legacy_1")
    with db.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(password=auth.django_pbkdf2_hash("old-shop-pass", "legacysalt", 1000))
        )

    response = post_json(
        client, "/authorizations/", {"username": "legacy_1", "password": "old-shop-pass"}
    )

    assert response.status_code == 200
    assert stored_user(db, "legacy_1").password.startswith("argon2$argon2id$")
    assert (
        post_json(
            client, "/authorizations/", {"username": "legacy_1", "password": "old-shop-pass"}
        ).status_code
        == 200
    )


def test_a_deactivated_user_cannot_log_in(client: Any, db: Any, make_user: Any) -> None:
    user = make_user("alice_01", "password123")
    with db.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(is_active=False))

    response = post_json(
        client, "/authorizations/", {"username": "alice_01", "password": "password123"}
    )

    assert response.status_code == 400


# --- tokens in use ---------------------------------------------------------------------------


def test_the_profile_needs_a_valid_token(client: Any, make_user: Any, auth_headers: Any) -> None:
    user = make_user("alice_01", email="alice@example.com")

    response = client.http.get("/user/", headers=auth_headers(user))

    assert response.status_code == 200
    body = response.json_body
    assert {
        k: body[k]
        for k in ("id", "username", "email", "email_active", "mobile", "balance", "avatar")
    } == {
        "id": user.id,
        "username": "alice_01",
        "email": "alice@example.com",
        "email_active": False,
        "mobile": None,
        "balance": "0.00",
        "avatar": None,
    }
    assert body["date_joined"].endswith("+08:00")


@pytest.mark.parametrize("header", [None, "Bearer garbage", "Token abc", "Bearer"])
def test_without_a_valid_token_the_profile_is_a_401(client: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    response = client.http.get("/user/", headers=headers)

    assert response.status_code == 401
    assert set(response.json_body) == {"detail", "code"}


def test_the_jwt_prefix_of_the_meiduo_front_end_is_accepted(
    client: Any, make_user: Any, token_for: Any
) -> None:
    user = make_user("alice_01")

    response = client.http.get("/user/", headers={"Authorization": f"JWT {token_for(user)}"})

    assert response.status_code == 200


def test_logging_out_revokes_that_token_only(client: Any, make_user: Any, token_for: Any) -> None:
    user = make_user("alice_01")
    first, second = token_for(user), token_for(user)

    assert (
        client.http.delete(
            "/authorizations/", headers={"Authorization": f"Bearer {first}"}
        ).status_code
        == 204
    )

    revoked = client.http.get("/user/", headers={"Authorization": f"Bearer {first}"})
    assert revoked.status_code == 401
    assert revoked.json_body["code"] == "token_revoked"
    assert (
        client.http.get("/user/", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    )


def test_logging_out_without_a_token_is_a_401(client: Any) -> None:
    assert client.http.delete("/authorizations/").status_code == 401


def test_a_deactivated_user_is_refused_at_once(
    client: Any, db: Any, make_user: Any, auth_headers: Any
) -> None:
    user = make_user("alice_01")
    headers = auth_headers(user)
    with db.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(is_active=False))

    response = client.http.get("/user/", headers=headers)

    assert response.status_code == 401
    assert response.json_body["code"] == "user_inactive"


def test_a_token_of_a_deleted_user_is_refused(
    client: Any, db: Any, make_user: Any, auth_headers: Any
) -> None:
    user = make_user("alice_01")
    headers = auth_headers(user)
    with db.begin() as conn:
        conn.execute(users.delete().where(users.c.id == user.id))

    assert client.http.get("/user/", headers=headers).status_code == 401


@pytest.mark.parametrize("sub", ["1" * 30, "\u0661\u0662"], ids=["30-digits", "arabic-indic"])
def test_a_signed_token_whose_sub_is_no_user_id_is_a_401_not_a_500(
    client: Any, make_user: Any, sub: str
) -> None:
    # given a token signed with our secret for user 12's version, but sub is not ASCII digits
    import jwt

    from tests.conftest import TEST_JWT_SECRET

    for _ in range(12):
        make_user()
    claims = {"sub": sub, "username": "x", "iat": 1, "exp": 2**31, "jti": "j", "ver": 0}
    token = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    # when it is used
    response = client.http.get("/user/", headers={"Authorization": f"Bearer {token}"})

    # then it is refused as an invalid token
    assert response.status_code == 401
    assert response.json_body["code"] == "token_invalid"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/users/", {"username": "carol_01", "password": "password123"}, 201),
        ("/authorizations/", {"username": "alice_01", "password": "password123"}, 200),
        ("/meiduo_admin/authorizations/", {"username": "boss_001", "password": "password123"}, 200),
    ],
)
def test_responses_carrying_a_token_are_not_stored_by_caches(
    client: Any, make_user: Any, path: str, body: dict[str, str], status: int
) -> None:
    make_user("alice_01", "password123")
    make_user("boss_001", "password123", is_staff=True)

    response = post_json(client, path, body)

    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"


def test_the_profile_is_not_stored_by_caches(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    response = client.http.get("/user/", headers=auth_headers(make_user("alice_01")))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# --- password changes ----------------------------------------------------------------------


def test_changing_the_password_ends_older_tokens(
    client: Any, make_user: Any, token_for: Any
) -> None:
    user = make_user("alice_01", "password123")
    old_token = token_for(user)
    headers = {"Authorization": f"Bearer {old_token}"}

    response = put_json(
        client,
        "/user/password/",
        {"old_password": "password123", "new_password": "new-password-1"},
        headers,
    )

    assert response.status_code == 204
    assert client.http.get("/user/", headers=headers).status_code == 401
    assert (
        post_json(
            client, "/authorizations/", {"username": "alice_01", "password": "password123"}
        ).status_code
        == 400
    )
    login = post_json(
        client, "/authorizations/", {"username": "alice_01", "password": "new-password-1"}
    )
    assert login.status_code == 200
    assert (
        client.http.get(
            "/user/", headers={"Authorization": f"Bearer {login.json_body['token']}"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"old_password": "wrong-password", "new_password": "new-password-1"}, "old_password"),
        ({"old_password": "password123", "new_password": "short"}, "new_password"),
        ({"old_password": "password123", "new_password": "password123"}, "new_password"),
        ({"new_password": "new-password-1"}, "old_password"),
    ],
)
def test_bad_password_changes_change_nothing(
    client: Any, db: Any, make_user: Any, auth_headers: Any, body: dict[str, str], field: str
) -> None:
    user = make_user("alice_01", "password123")
    before = stored_user(db, "alice_01")

    response = put_json(client, "/user/password/", body, auth_headers(user))

    assert response.status_code == 400
    assert field in response.json_body
    after = stored_user(db, "alice_01")
    assert (after.password, after.token_version) == (before.password, before.token_version)


def test_the_old_password_is_throttled_like_a_login(db: Any, redis: Any, make_user: Any) -> None:
    # given five wrong old passwords for alice within the window
    from chalicelib.errors import Throttled
    from chalicelib.services import accounts

    user = make_user("alice_01", "password123")
    for _ in range(5):
        with db.begin() as conn, pytest.raises(ValidationError):
            accounts.change_password(
                conn,
                redis,
                user.id,
                old_password="guess-guess",
                new_password="new-password-1",
                token_version=user.token_version,
            )

    # when the right one is sent, then it is refused as a login would be, and nothing changes
    with db.begin() as conn, pytest.raises(Throttled):
        accounts.change_password(
            conn,
            redis,
            user.id,
            old_password="password123",
            new_password="new-password-1",
            token_version=user.token_version,
        )
    assert stored_user(db, "alice_01").password == user.password


def test_wrong_old_passwords_lock_the_login_too(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    # given five wrong old passwords sent to PUT /user/password/
    user = make_user("alice_01", "password123")
    headers = auth_headers(user)
    wrong = {"old_password": "guess-guess", "new_password": "new-password-1"}
    assert [put_json(client, "/user/password/", wrong, headers).status_code for _ in range(5)] == [
        400
    ] * 5

    # when the right one is sent, or alice logs in
    changed = put_json(
        client,
        "/user/password/",
        {"old_password": "password123", "new_password": "new-password-1"},
        headers,
    )
    right = {"password": "password123"}
    login = post_json(client, "/authorizations/", {"username": "alice_01", **right})

    # then both are the login throttle's 429
    assert changed.status_code == 429
    assert changed.json_body["code"] == "throttled"
    assert 1 <= int(changed.headers["Retry-After"]) <= 900
    assert login.status_code == 429


# --- admin login -------------------------------------------------------------------------------


def test_staff_log_in_to_the_admin(client: Any, make_user: Any) -> None:
    staff = make_user("boss_001", "password123", is_staff=True)

    response = post_json(
        client, "/meiduo_admin/authorizations/", {"username": "boss_001", "password": "password123"}
    )

    assert response.status_code == 200
    assert response.json_body["id"] == staff.id
    assert response.json_body["user_id"] == staff.id
    assert response.json_body["username"] == "boss_001"


@pytest.mark.parametrize(
    ("username", "password"), [("alice_01", "password123"), ("boss_001", "wrong-pass")]
)
def test_non_staff_or_wrong_passwords_cannot_log_in_to_the_admin(
    client: Any, make_user: Any, username: str, password: str
) -> None:
    make_user("alice_01", "password123")
    make_user("boss_001", "password123", is_staff=True)

    response = post_json(
        client, "/meiduo_admin/authorizations/", {"username": username, "password": password}
    )

    assert response.status_code == 400
    assert list(response.json_body) == ["non_field_errors"]


def test_the_admin_login_accepts_form_free_json_only(client: Any) -> None:
    response = client.http.post(
        "/meiduo_admin/authorizations/",
        body="username=a&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
    assert response.json_body["code"] == "unsupported_media_type"


def test_json_error_bodies_are_readable_utf8(client: Any) -> None:
    response = client.http.post(
        "/users/", body=json.dumps({"username": "ab"}), headers=json_headers()
    )

    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.status_code == 400
