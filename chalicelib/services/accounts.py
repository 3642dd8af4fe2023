"""Accounts: sign-up, login with throttling, profile, password changes."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chalicelib import auth
from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import users
from chalicelib.errors import NON_FIELD, NotFound, Throttled, ValidationError

if TYPE_CHECKING:
    from redis import Redis

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
LOGIN_FAILURES_KEY = "auth:login-failures:{username}"
BAD_CREDENTIALS = "Unable to log in with the provided credentials."


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths take the same time."""
    return auth.hash_password("not-a-real-password-0")


def register(
    conn: Connection,
    *,
    username: str,
    password: str,
    email: str = "",
    mobile: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> Row[Any]:
    """Create an account; duplicates of username or mobile are 400s on that field."""
    errors: dict[str, list[str]] = {}
    if username_count(conn, username):
        errors["username"] = ["A user with that username already exists."]
    if mobile and conn.scalar(select(func.count()).where(users.c.mobile == mobile)):
        errors["mobile"] = ["A user with that mobile number already exists."]
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    try:
        with conn.begin_nested():
            user_id = insert_id(
                conn.execute(
                    users.insert().values(
                        username=username,
                        password=auth.hash_password(password),
                        email=email or "",
                        mobile=mobile or None,
                        is_staff=is_staff,
                        is_superuser=is_superuser,
                        date_joined=now,
                    )
                )
            )
    except IntegrityError:
        # Someone took the username or mobile between our check and the insert.
        raise ValidationError(
            {"username": ["A user with that username or mobile number already exists."]}
        ) from None
    return get_user(conn, user_id)


def get_user(conn: Connection, user_id: int) -> Row[Any]:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound("No such user.")
    return row


def username_count(conn: Connection, username: str) -> int:
    return int(conn.scalar(select(func.count()).where(users.c.username == username)) or 0)


def check_credentials(
    conn: Connection, redis: Redis, *, username: str, password: str, staff_only: bool = False
) -> Row[Any] | None:
    """The active user these credentials belong to, or None (the failure is counted).

    Throttled (429) after LOGIN_FAILURE_LIMIT failures for the username within the
    window, whatever the password: every place that takes a password goes through here,
    so none of them can be used to guess it faster.
    """
    failures_key = LOGIN_FAILURES_KEY.format(username=username.lower())
    now = time.time()
    if _recent_failures(redis, failures_key, now) >= LOGIN_FAILURE_LIMIT:
        oldest: list[tuple[str, float]] = redis.zrange(failures_key, 0, 0, withscores=True)  # type: ignore[assignment]
        retry_after = int(oldest[0][1] + LOGIN_FAILURE_WINDOW_SECONDS - now) + 1 if oldest else 60
        raise Throttled(
            "Too many failed logins for this username. Try again later.",
            headers={"Retry-After": str(max(retry_after, 1))},
        )
    row = conn.execute(select(users).where(users.c.username == username)).first()
    valid = (
        auth.verify_password(password, row.password if row else _dummy_hash()) and row is not None
    )
    if not valid or row is None or not row.is_active or (staff_only and not row.is_staff):
        _record_failure(redis, failures_key, now)
        return None
    redis.delete(failures_key)
    return row


def login(
    conn: Connection, redis: Redis, *, username: str, password: str, staff_only: bool = False
) -> Row[Any]:
    """The user for these credentials, or a 400; 429 after too many recent failures."""
    row = check_credentials(
        conn, redis, username=username, password=password, staff_only=staff_only
    )
    if row is None:
        raise ValidationError(BAD_CREDENTIALS, field=NON_FIELD)
    changes: dict[str, Any] = {"last_login": utcnow()}
    if auth.password_needs_rehash(row.password):
        changes["password"] = auth.hash_password(password)
    conn.execute(update(users).where(users.c.id == row.id).values(**changes))
    return row


def _recent_failures(redis: Redis, key: str, now: float) -> int:
    pipe = redis.pipeline()
    pipe.zremrangebyscore(key, 0, now - LOGIN_FAILURE_WINDOW_SECONDS)
    pipe.zcard(key)
    return int(pipe.execute()[1])


def _record_failure(redis: Redis, key: str, now: float) -> None:
    pipe = redis.pipeline()
    pipe.zadd(key, {f"{now:.6f}": now})
    pipe.expire(key, LOGIN_FAILURE_WINDOW_SECONDS)
    pipe.execute()


def token_for(row: Row[Any]) -> str:
    return auth.issue_token(row.id, row.username, row.token_version)


def change_password(
    conn: Connection, redis: Redis, user_id: int, *, old_password: str, new_password: str
) -> None:
    """Set a new password; every token issued before stops working.

    The old password is checked like a login (check_credentials): a wrong one counts as a
    failed login for the username, and past the limit the answer is 429 whatever is sent.
    """
    row = get_user(conn, user_id)
    if check_credentials(conn, redis, username=row.username, password=old_password) is None:
        raise ValidationError("The old password is not correct.", field="old_password")
    if old_password == new_password:
        raise ValidationError(
            "The new password must differ from the old one.", field="new_password"
        )
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password=auth.hash_password(new_password), token_version=users.c.token_version + 1)
    )
