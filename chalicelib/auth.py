"""Passwords, JWTs and who is calling.

Passwords are argon2id (argon2-cffi) in Django's encoded hasher format
(`argon2$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so the same table could be
read by a Django shop. Django's `pbkdf2_sha256$<iterations>$<salt>$<hash>` verifies
too and is upgraded to argon2id on the next successful login.

Tokens are HS256 JWTs (algorithm pinned) with sub, username, iat, exp, jti and ver,
the user's token_version: a password change, or losing staff rights, bumps it, so every
token issued before stops working; logout puts the jti on a Redis deny-list until the
token expires.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import select

from chalicelib import config, lazy, resources
from chalicelib.db.engine import reading
from chalicelib.db.tables import users
from chalicelib.errors import NotAuthenticated, PermissionDenied
from chalicelib.integers import MAX_ID, ascii_int

JWT_ALGORITHM = "HS256"
TOKEN_PREFIXES = ("bearer", "jwt")
DENYLIST_KEY = "auth:denied-jti:{jti}"


# --- passwords -------------------------------------------------------------------


@functools.cache
def _argon2() -> Any:
    """OWASP's argon2id minimum (19 MiB, t=2, p=1): ~40 ms here, which a Lambda can afford
    per login; Django's defaults (100 MiB, p=8) would need a big function for little gain.
    Built on first use: argon2's import is not needed by most requests."""
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    # argon2-cffi encodes "$argon2id$v=19$..."; Django stores "argon2" + that.
    return "argon2" + _argon2().hash(password)


def verify_password(password: str, encoded: str) -> bool:
    algorithm, _, rest = encoded.partition("$")
    if algorithm == "argon2":
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(_argon2().verify("$" + rest, password))
        except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError
            return False
    if algorithm == "pbkdf2_sha256":
        return _verify_django_pbkdf2(password, rest)
    return False


def password_needs_rehash(encoded: str) -> bool:
    algorithm, _, rest = encoded.partition("$")
    if algorithm != "argon2":
        return True
    from argon2.exceptions import InvalidHashError

    try:
        return bool(_argon2().check_needs_rehash("$" + rest))
    except InvalidHashError:
        return True


def _verify_django_pbkdf2(password: str, rest: str) -> bool:
    try:
        iterations_text, salt, expected = rest.split("$", 2)
        iterations = int(iterations_text)
    except ValueError:
        return False
    if not 1 <= iterations <= 10_000_000:
        return False
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return hmac.compare_digest(base64.b64encode(derived).decode("ascii"), expected)


def django_pbkdf2_hash(password: str, salt: str, iterations: int = 600_000) -> str:
    """Django's pbkdf2_sha256 format; used to import users and in tests."""
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(derived).decode('ascii')}"


# --- tokens ----------------------------------------------------------------------


def pyjwt() -> ModuleType:
    """PyJWT, imported on first use as if installed without its `crypto` extra.

    Only HS256 (hmac, hashlib) is used here. PyJWT imports cryptography when it finds it
    (for RSA, EC and EdDSA keys), and the package ships cryptography for Alipay's
    pyOpenSSL: that import cost a cold start's first authenticated request ~10-20 ms.
    While PyJWT is imported, the cryptography package is hidden from this thread (other
    threads import as usual), which PyJWT takes as the extra not being installed: its
    HMAC algorithms are the same either way. Once something has imported cryptography
    (pymysql may, for its RSA password exchange), PyJWT is imported as it is
    (chalicelib/lazy.py, `without`).
    """
    found = sys.modules.get("jwt")
    if found is not None:
        return found
    with lazy.without("cryptography"):
        import jwt
    return jwt


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    is_staff: bool
    is_superuser: bool
    claims: dict[str, Any]


def issue_token(user_id: int, username: str, token_version: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "username": username,
        "iat": now,
        "exp": now + config.settings().jwt_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "ver": token_version,
    }
    return pyjwt().encode(claims, config.jwt_secret(), algorithm=JWT_ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    """The verified claims, or NotAuthenticated. Only HS256 is accepted (no `alg: none`)."""
    jwt = pyjwt()

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            config.jwt_secret(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "iat", "exp", "jti", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The token has expired.", code="token_expired") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("The token is not valid.", code="token_invalid") from None
    # sub is a user id as ASCII digits within our ids: "١٢" or 30 digits are not ours
    # (str.isdecimal() and int() take both, and a 30-digit id overflows the database).
    try:
        claims["sub"] = str(ascii_int(claims["sub"], 1, MAX_ID))
    except ValueError:
        raise NotAuthenticated("The token is not valid.", code="token_invalid") from None
    if not isinstance(claims["ver"], int):
        raise NotAuthenticated("The token is not valid.", code="token_invalid")
    return claims


# --- email verification links -----------------------------------------------------

EMAIL_TOKEN_AUDIENCE = "jiadian-shop:email-verification"
EMAIL_TOKEN_TTL_SECONDS = 24 * 60 * 60


class InvalidEmailToken(ValueError):
    """A verification token that is forged, damaged or expired (the message says which)."""


@dataclass(frozen=True)
class EmailClaims:
    user_id: int
    email: str
    version: int  # the user's email_token_version when the link was sent


def _email_token_key() -> bytes:
    # A key of its own, derived from the JWT secret: a login token never verifies as a
    # link, nor a link as a login token, even before the audience is compared.
    return hmac.new(
        config.jwt_secret().encode(), b"jiadian-shop email verification", hashlib.sha256
    ).digest()


def issue_email_token(user_id: int, email: str, version: int, *, now: float | None = None) -> str:
    """A signed link token for this address and email_token_version, valid for 24 h."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": str(user_id),
        "email": email,
        "ver": version,
        "aud": EMAIL_TOKEN_AUDIENCE,
        "iat": issued,
        "exp": issued + EMAIL_TOKEN_TTL_SECONDS,
    }
    return pyjwt().encode(claims, _email_token_key(), algorithm=JWT_ALGORITHM)


def decode_email_token(token: str, *, now: float | None = None) -> EmailClaims:
    """The claims of a verification token this shop signed and that has not expired.

    Whether it still applies (same address, unused) is the database's to say.
    """
    jwt = pyjwt()

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _email_token_key(),
            algorithms=[JWT_ALGORITHM],
            audience=EMAIL_TOKEN_AUDIENCE,
            options={"require": ["sub", "email", "ver", "aud", "iat", "exp"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise InvalidEmailToken("This verification link is not valid.") from None
    expires = claims["exp"]
    sub, email, version = claims["sub"], claims["email"], claims["ver"]
    if (
        not isinstance(expires, int)
        or not (isinstance(sub, str) and sub.isdecimal() and sub.isascii())
        or not isinstance(email, str)
        or not isinstance(version, int)
    ):
        raise InvalidEmailToken("This verification link is not valid.")
    if (time.time() if now is None else now) >= expires:
        raise InvalidEmailToken("This verification link has expired. Ask for a new one.")
    return EmailClaims(int(sub), email, version)


def token_from_header(header: str | None) -> str:
    if not header:
        raise NotAuthenticated()
    prefix, _, token = header.strip().partition(" ")
    if prefix.lower() not in TOKEN_PREFIXES or not token.strip():
        raise NotAuthenticated(
            "Authorization must be 'Bearer <token>' or 'JWT <token>'.", code="token_invalid"
        )
    return token.strip()


def authenticate(authorization_header: str | None) -> CurrentUser:
    """Who is calling: a valid, unrevoked token of an active user whose password is unchanged."""
    claims = decode_token(token_from_header(authorization_header))
    if resources.redis().exists(DENYLIST_KEY.format(jti=claims["jti"])):
        raise NotAuthenticated("The token has been revoked.", code="token_revoked")
    with reading() as conn:
        row = conn.execute(
            select(
                users.c.id,
                users.c.username,
                users.c.is_active,
                users.c.is_staff,
                users.c.is_superuser,
                users.c.token_version,
            ).where(users.c.id == int(claims["sub"]))
        ).first()
    if row is None or not row.is_active:
        raise NotAuthenticated("The account is disabled or gone.", code="user_inactive")
    if row.token_version != claims["ver"]:
        raise NotAuthenticated(
            "The token was revoked: the password changed or staff rights were removed.",
            code="token_revoked",
        )
    return CurrentUser(row.id, row.username, bool(row.is_staff), bool(row.is_superuser), claims)


def revoke(claims: dict[str, Any]) -> None:
    ttl = int(claims["exp"]) - int(time.time())
    if ttl > 0:
        resources.redis().set(DENYLIST_KEY.format(jti=claims["jti"]), 1, ex=ttl)


# --- who may call a view ---------------------------------------------------------------
#
# Every route declares it: @public, @login_required, @staff_required or
# @permission_required(codename), staff with a permission (ShopApp refuses to register a
# route without one). ApiBlueprint authenticates before the view runs and
# passes the CurrentUser; the two requiring decorators also check it themselves, so a
# view they guard never runs without a verified user, whatever registered it (before,
# they only marked the view, and a plain Blueprint let anyone in).

View = TypeVar("View", bound=Callable[..., Any])
PUBLIC, USER, STAFF = "public", "user", "staff"
PERMISSION_RE = re.compile(r"(view|add|change|delete|refund)_[a-z]+")  # refund_order: its own


def public(view: View) -> View:
    """Anyone may call the view, with or without a token (it is not read)."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def login_required(view: View) -> View:
    """The view receives the CurrentUser as its first argument; 401 without a valid token."""
    return _requiring(view, USER)


def staff_required(view: View) -> View:
    """As login_required, and 403 unless the user is staff."""
    return _requiring(view, STAFF)


def permission_required(codename: str) -> Callable[[View], View]:
    """As staff_required, and 403 unless the user holds `codename` (e.g. "view_sku").

    Django's rules: superusers hold every permission; others hold one directly or
    through a group, read from the database on every request (one query, none for a
    superuser), so a change to someone's groups or permissions applies at their next
    request. The permission a route needs is `<action>_<content type>` with the action
    from its method (GET view, POST add, PUT change, DELETE delete), except refunds
    (`refund_order`); tests/functional/hardening/test_permissions_table.py checks every
    admin route's.
    """
    if not PERMISSION_RE.fullmatch(codename):
        raise ValueError(f"{codename!r} is not a permission codename (view_sku, add_order, ...)")

    def mark(view: View) -> View:
        return _requiring(view, STAFF, codename)

    return mark


def permission_of(view: Callable[..., Any]) -> str | None:
    """The permission codename a staff view needs; None for staff-only views."""
    return getattr(view, "permission", None)


def has_permission(user: CurrentUser, codename: str) -> bool:
    """Whether the user may do what `codename` allows, as of now (see permission_required)."""
    if not user.is_staff:
        return False
    if user.is_superuser:
        return True
    from chalicelib.services import permissions

    with reading() as conn:
        return permissions.holds(conn, user.id, codename)


def _requiring(view: View, level: str, permission: str | None = None) -> View:
    @functools.wraps(view)
    def enforced(*args: Any, **kwargs: Any) -> Any:
        user = args[0] if args else None
        if not isinstance(user, CurrentUser):
            raise NotAuthenticated()
        if level == STAFF and not user.is_staff:
            raise PermissionDenied()
        if permission is not None and not has_permission(user, permission):
            raise PermissionDenied(
                f"You need the {permission} permission for this.",
                code="permission_denied",
                extra={"permission": permission},
            )
        return view(*args, **kwargs)

    enforced.access = level  # type: ignore[attr-defined]
    if permission is not None:
        enforced.permission = permission  # type: ignore[attr-defined]
    return enforced  # type: ignore[return-value]


def access_of(view: Callable[..., Any]) -> str | None:
    """public, user or staff; None for a view nobody classified."""
    level = getattr(view, "access", None)
    return level if level in (PUBLIC, USER, STAFF) else None


def check_access(view: Callable[..., Any], authorization_header: str | None) -> CurrentUser | None:
    level = access_of(view)
    if level is None:
        raise PermissionDenied()  # unclassified: ShopApp refuses to register it anyway
    if level == PUBLIC:
        return None
    user = authenticate(authorization_header)
    if level == STAFF and not user.is_staff:
        raise PermissionDenied()
    return user
