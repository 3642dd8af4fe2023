"""JWT verification refuses every token it did not issue or that is no longer valid."""

import base64
import json
import time

import jwt
import pytest

from chalicelib import auth
from chalicelib.errors import NotAuthenticated
from tests.conftest import TEST_JWT_SECRET


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "7",
        "username": "alice",
        "iat": now,
        "exp": now + 60,
        "jti": "abc",
        "ver": 0,
    }
    claims.update(overrides)
    return claims


def test_an_issued_token_carries_the_documented_claims() -> None:
    token = auth.issue_token(7, "alice", 3)

    claims = auth.decode_token(token)

    assert claims["sub"] == "7"
    assert claims["username"] == "alice"
    assert claims["ver"] == 3
    assert claims["exp"] - claims["iat"] == 86400
    assert len(claims["jti"]) == 32
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(
        b"="
    )
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=")
    token = f"{header.decode()}.{body.decode()}."

    with pytest.raises(NotAuthenticated) as caught:
        auth.decode_token(token)
    assert caught.value.code == "token_invalid"


def test_an_expired_token_is_refused() -> None:
    token = jwt.encode(
        _claims(iat=int(time.time()) - 120, exp=int(time.time()) - 60),
        TEST_JWT_SECRET,
        algorithm="HS256",
    )

    with pytest.raises(NotAuthenticated) as caught:
        auth.decode_token(token)
    assert caught.value.code == "token_expired"


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = auth.issue_token(7, "alice", 0).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_claims(sub="1")).encode()).rstrip(b"=").decode()

    with pytest.raises(NotAuthenticated):
        auth.decode_token(f"{header}.{forged}.{signature}")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = jwt.encode(_claims(), "another-secret-of-at-least-thirty-two-bytes!", algorithm="HS256")

    with pytest.raises(NotAuthenticated):
        auth.decode_token(token)


def test_a_token_signed_with_another_algorithm_is_refused() -> None:
    token = jwt.encode(_claims(), TEST_JWT_SECRET, algorithm="HS512")

    with pytest.raises(NotAuthenticated):
        auth.decode_token(token)


@pytest.mark.parametrize("missing", ["sub", "exp", "jti", "ver", "iat"])
def test_a_token_without_a_required_claim_is_refused(missing: str) -> None:
    claims = _claims()
    del claims[missing]

    with pytest.raises(NotAuthenticated):
        auth.decode_token(jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "eyJ.eyJ.sig"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(NotAuthenticated):
        auth.decode_token(token)


@pytest.mark.parametrize(
    "header", [None, "", "abc.def.ghi", "Token abc", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz"]
)
def test_a_header_without_a_bearer_or_jwt_prefix_is_refused(header: str | None) -> None:
    with pytest.raises(NotAuthenticated):
        auth.token_from_header(header)


@pytest.mark.parametrize("header", ["Bearer tok", "JWT tok", "bearer tok", "jwt   tok  "])
def test_bearer_and_jwt_prefixes_are_accepted(header: str) -> None:
    assert auth.token_from_header(header) == "tok"


@pytest.mark.parametrize("sub", ["1" * 30, "١٢", "１２", "0", " 7", "+7", "7.0", "", 7])
def test_a_correctly_signed_token_whose_sub_is_not_one_of_our_ids_is_refused(sub: object) -> None:
    # given a token signed with our secret whose sub is not ASCII digits within 1..MAX_ID
    token = jwt.encode(_claims(sub=sub), TEST_JWT_SECRET, algorithm="HS256")

    # when it is verified, then it is refused like any invalid token (never a 500 later)
    with pytest.raises(NotAuthenticated) as caught:
        auth.decode_token(token)
    assert caught.value.code == "token_invalid"
