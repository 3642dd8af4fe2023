"""Request models of api/accounts.py."""

from __future__ import annotations

from chalicelib.api.fields import (
    Email,
    Mobile,
    Password,
    RequestModel,
    RequiredEmail,
    Secret,
    Text100,
    Token,
    Username,
)


class SignUp(RequestModel):
    username: Username
    password: Password
    email: Email = ""
    mobile: Mobile | None = None


class Credentials(RequestModel):
    username: Text100
    password: Secret


class NewPassword(RequestModel):
    old_password: Secret
    new_password: Password


class NewEmail(RequestModel):
    email: RequiredEmail


class EmailVerification(RequestModel):
    token: Token
