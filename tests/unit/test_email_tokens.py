"""Verification-link tokens: signed for one address and version, 24 h, never a login token."""

from __future__ import annotations

import time

import jwt
import pytest

from chalicelib import auth
from chalicelib.errors import NotAuthenticated
from tests.conftest import TEST_JWT_SECRET

NOT_VALID = "This verification link is not valid."


def test_a_token_carries_the_user_the_address_and_the_version() -> None:
    token = auth.issue_email_token(7, "zhang@example.com", 3)

    assert auth.decode_email_token(token) == auth.EmailClaims(7, "zhang@example.com", 3)


def test_a_token_expires_after_24_hours() -> None:
    issued = int(time.time()) - 1000
    token = auth.issue_email_token(7, "zhang@example.com", 3, now=issued)

    assert auth.decode_email_token(token, now=issued + 86399).user_id == 7
    with pytest.raises(auth.InvalidEmailToken, match="expired"):
        auth.decode_email_token(token, now=issued + 86400)


def test_a_login_token_is_not_a_verification_token_nor_the_other_way_round() -> None:
    login = auth.issue_token(7, "zhang", 0)
    link = auth.issue_email_token(7, "zhang@example.com", 0)

    with pytest.raises(auth.InvalidEmailToken, match=NOT_VALID):
        auth.decode_email_token(login)
    with pytest.raises(NotAuthenticated):
        auth.decode_token(link)


def test_claims_signed_with_the_jwt_secret_itself_are_refused() -> None:
    # the link key is derived from JWT_SECRET, not JWT_SECRET: a leaked claim set signed
    # the way login tokens are cannot be replayed as a link
    now = int(time.time())
    claims = {
        "sub": "7",
        "email": "zhang@example.com",
        "ver": 0,
        "aud": auth.EMAIL_TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    forged = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    with pytest.raises(auth.InvalidEmailToken, match=NOT_VALID):
        auth.decode_email_token(forged)


@pytest.mark.parametrize(
    "change", [{"sub": "seven"}, {"ver": "0"}, {"email": 1}, {"aud": "jiadian-shop:login"}]
)
def test_malformed_claims_are_refused(change: dict[str, object]) -> None:
    now = int(time.time())
    claims = {
        "sub": "7",
        "email": "zhang@example.com",
        "ver": 0,
        "aud": auth.EMAIL_TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        **change,
    }
    token = jwt.encode(claims, auth._email_token_key(), algorithm="HS256")

    with pytest.raises(auth.InvalidEmailToken, match=NOT_VALID):
        auth.decode_email_token(token)
