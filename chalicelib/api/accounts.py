"""Accounts: sign-up, login/logout, the profile and password changes."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import accounts as models
from chalicelib.api.present import image_url, private, user_body
from chalicelib.api.routing import ApiBlueprint, parse
from chalicelib.clock import isoformat, utcnow
from chalicelib.config import settings
from chalicelib.money import format_yuan
from chalicelib.resources import transaction
from chalicelib.services import accounts

bp = ApiBlueprint(__name__)


def profile_body(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "email": row.email,
        "email_active": bool(row.email_active),
        "mobile": row.mobile,
        "balance": format_yuan(row.balance),
        "avatar": image_url(row.avatar),
        "date_joined": isoformat(row.date_joined, settings().shop_timezone),
    }


@bp.route("/users/", methods=["POST"])
@auth.public
def sign_up() -> Response:
    body = parse(models.SignUp, bp.current_request)
    with transaction() as conn:
        row = accounts.register(
            conn,
            username=body.username,
            password=body.password,
            email=body.email,
            mobile=body.mobile,
        )
    return private({**user_body(row), "token": accounts.token_for(row)}, status_code=201)


@bp.route("/usernames/{username}/count/", methods=["GET"])
@auth.public
def username_count(username: str) -> dict[str, Any]:
    with transaction() as conn:
        return {"username": username, "count": accounts.username_count(conn, username[:100])}


@bp.route("/authorizations/", methods=["POST"])
@auth.public
def log_in() -> Response:
    body = parse(models.Credentials, bp.current_request)
    with transaction() as conn:
        row = accounts.login(
            conn, resources.redis(), username=body.username, password=body.password
        )
    return private({"token": accounts.token_for(row), "user_id": row.id, "username": row.username})


@bp.route("/authorizations/", methods=["DELETE"])
@auth.login_required
def log_out(user: auth.CurrentUser) -> Response:
    auth.revoke(user.claims)
    return Response(body="", status_code=204)


@bp.route("/user/", methods=["GET"])
@auth.login_required
def profile(user: auth.CurrentUser) -> Response:
    with transaction() as conn:
        return private(profile_body(accounts.get_user(conn, user.id)))


@bp.route("/user/password/", methods=["PUT"])
@auth.login_required
def change_password(user: auth.CurrentUser) -> Response:
    body = parse(models.NewPassword, bp.current_request)
    with transaction() as conn:
        accounts.change_password(
            conn,
            resources.redis(),
            user.id,
            old_password=body.old_password,
            new_password=body.new_password,
            token_version=int(user.claims["ver"]),
        )
    return Response(body="", status_code=204)


@bp.route("/user/email/", methods=["PUT"])
@auth.login_required
def change_email(user: auth.CurrentUser) -> Response:
    body = parse(models.NewEmail, bp.current_request)
    with transaction() as conn:
        row = accounts.change_email(
            conn, resources.redis(), resources.mailer(), user.id, body.email, now=utcnow()
        )
    return private({"id": row.id, "email": row.email, "email_active": bool(row.email_active)})


@bp.route("/emails/verification/", methods=["PUT"])
@auth.public  # the token from the mail is the credential: the link opens without a login
def verify_email() -> dict[str, Any]:
    body = parse(models.EmailVerification, bp.current_request)
    with transaction() as conn:
        accounts.verify_email(conn, body.token, now=utcnow())
    return {"email_active": True}
