"""Accounts: sign-up, login with throttling, profile, password changes."""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chalicelib import auth, config
from chalicelib.adapters.mailer import Mail
from chalicelib.clock import utcnow
from chalicelib.db.engine import UnitOfWork, after_commit, after_rollback, insert_id
from chalicelib.db.tables import users
from chalicelib.errors import NON_FIELD, NotAuthenticated, NotFound, Throttled, ValidationError
from chalicelib.services import username_terms

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.adapters.mailer import Mailer

log = logging.getLogger("shop.accounts")

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
LOGIN_FAILURES_KEY = "auth:login-failures:{username}"
BAD_CREDENTIALS = "Unable to log in with the provided credentials."
VERIFICATION_MAIL_INTERVAL_SECONDS = 60
VERIFICATION_MAIL_KEY = "mail:verification-sent:{user_id}"
# The meiduo front-end's page that reads ?token= and calls PUT /emails/verification/.
FRONTEND_VERIFY_PAGE = "success_verify_email.html"
LINK_USED = "This link has been used, or the address was changed after it was sent."


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
            username_terms.index_new_user(conn, user_id, username)
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
    conn: Connection,
    redis: Redis,
    user_id: int,
    *,
    old_password: str,
    new_password: str,
    token_version: int,
) -> None:
    """Set a new password; every token issued before stops working.

    `token_version` is that of the token the request came with. The user's row is locked
    and the version checked again under the lock: of concurrent changes made with one
    token, the first wins and the others, whose token it has just ended, are 401 (they
    had all been authenticated, and all changed the password, each ending the tokens
    again). The old password is checked like a login (check_credentials): a wrong one
    counts as a failed login for the username, and past the limit the answer is 429.
    """
    row = conn.execute(select(users).where(users.c.id == user_id).with_for_update()).first()
    if row is None:
        raise NotFound("No such user.")
    if row.token_version != token_version:
        raise NotAuthenticated(
            "The token was issued before a password change.", code="token_revoked"
        )
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


# --- email address and its verification --------------------------------------------


def change_email(
    conn: Connection, redis: Redis, mailer: Mailer, user_id: int, email: str, *, now: datetime
) -> Row[Any]:
    """Store a new, unverified address and send a verification link once this commits.

    Every link sent before stops working (the user's email_token_version moves on). At
    most one mail per user a minute: 429 otherwise, and nothing is changed. The mail is
    queued after the commit; if queuing fails the address stays saved, the failure is
    logged and the user may ask again at once (the minute is given back).
    """
    throttle_key = VERIFICATION_MAIL_KEY.format(user_id=user_id)
    if not redis.set(throttle_key, "1", nx=True, ex=VERIFICATION_MAIL_INTERVAL_SECONDS):
        wait = int(redis.ttl(throttle_key))
        raise Throttled(
            "A verification mail was sent less than a minute ago. Try again shortly.",
            headers={"Retry-After": str(wait if wait > 0 else VERIFICATION_MAIL_INTERVAL_SECONDS)},
        )
    after_rollback(conn, partial(_give_back_throttle, redis, throttle_key))
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            email=email,
            email_active=False,
            email_token_version=users.c.email_token_version + 1,
        )
    )
    row = get_user(conn, user_id)
    token = auth.issue_email_token(user_id, email, row.email_token_version, now=now.timestamp())
    mail = verification_mail(row.username, email, verification_link(token))
    after_commit(conn, partial(_queue_mail, mailer, redis, throttle_key, mail, user_id))
    return row


def verification_link(token: str) -> str:
    """FRONTEND_URL's verification page with the token, or the API's own route."""
    s = config.settings()
    query = urlencode({"token": token})
    if s.frontend_url:
        return f"{urljoin(s.frontend_url, FRONTEND_VERIFY_PAGE)}?{query}"
    return f"{s.api_base_url}/emails/verification/?{query}"


def verification_mail(username: str, email: str, link: str) -> Mail:
    return Mail(
        to=email,
        subject="家电之选：请验证您的邮箱 / Verify your email address",
        text=(
            f"{username}，您好！\n\n"
            f"请打开下面的链接验证您的邮箱 {email}（24 小时内有效，只能使用一次）：\n"
            f"{link}\n\n"
            f"Hello {username}, open the link above within 24 hours to verify {email}.\n"
            "If you did not ask for this, ignore this mail.\n"
        ),
    )


def _queue_mail(
    mailer: Mailer, redis: Redis, throttle_key: str, mail: Mail, user_id: int, _: UnitOfWork
) -> None:
    try:
        mailer.send(mail)
    except Exception:
        log.exception(
            "verification mail for user %s not queued; the address is saved and "
            "PUT /user/email/ again sends a new link",
            user_id,
        )
        _give_back_throttle(redis, throttle_key)


def _give_back_throttle(redis: Redis, throttle_key: str, _: UnitOfWork | None = None) -> None:
    try:
        redis.delete(throttle_key)
    except Exception:
        log.exception("could not clear %s", throttle_key)


def verify_email(conn: Connection, token: str, *, now: datetime) -> None:
    """Mark the address a link was sent to as verified: once, and only while it is current."""
    try:
        claims = auth.decode_email_token(token, now=now.timestamp())
    except auth.InvalidEmailToken as exc:
        raise ValidationError(str(exc), field="token") from None
    result = conn.execute(
        update(users)
        .where(
            users.c.id == claims.user_id,
            users.c.email == claims.email,
            users.c.email_token_version == claims.version,
            users.c.is_active,
        )
        .values(email_active=True, email_token_version=users.c.email_token_version + 1)
    )
    if result.rowcount != 1:
        raise ValidationError(LINK_USED, field="token")
