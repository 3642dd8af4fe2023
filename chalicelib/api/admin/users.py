"""Admin user management under /meiduo_admin/users/ (staff only).

A user is shown as {id, username, mobile, email}: never the password hash (the seed's
serializer returned it).
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth
from chalicelib.api.fields import Email, Mobile, Password, RequestModel, Username
from chalicelib.api.routing import ApiBlueprint, parse, query
from chalicelib.errors import ValidationError
from chalicelib.pagination import page_body, page_request
from chalicelib.resources import transaction
from chalicelib.services import accounts, admin_users

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")

MAX_KEYWORD_LENGTH = 20  # a username is at most 20 characters


class NewUser(RequestModel):
    """As a sign-up, except that staff must give the mobile number (meiduo admin's form)."""

    username: Username
    mobile: Mobile
    password: Password
    email: Email = ""


def user_body(row: Any) -> dict[str, Any]:
    return {"id": row.id, "username": row.username, "mobile": row.mobile, "email": row.email}


@bp.route("/users/", methods=["GET"])
@auth.staff_required
def list_users(user: auth.CurrentUser) -> dict[str, Any]:
    params = query(bp.current_request)
    page = page_request(params)
    keyword = params.get("keyword", "").strip()
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise ValidationError(
            f"Must be at most {MAX_KEYWORD_LENGTH} characters (a username's length).",
            field="keyword",
        )
    with transaction() as conn:
        rows, count = admin_users.find_users(conn, keyword=keyword, page=page)
    return page_body([user_body(row) for row in rows], count, page)


@bp.route("/users/", methods=["POST"])
@auth.staff_required
def create_user(user: auth.CurrentUser) -> Response:
    body = parse(NewUser, bp.current_request)
    with transaction() as conn:
        row = accounts.register(
            conn,
            username=body.username,
            password=body.password,
            email=body.email,
            mobile=body.mobile,
        )
    return Response(body=user_body(row), status_code=201)
