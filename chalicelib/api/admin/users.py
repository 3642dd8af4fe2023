"""Admin user management under /meiduo_admin/users/ (the `user` permissions).

A user is shown as {id, username, mobile, email}: never the password hash (the seed's
serializer returned it).
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth
from chalicelib.api.models import admin_users as models
from chalicelib.api.present import user_body
from chalicelib.api.routing import ApiBlueprint, parse, parse_query
from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import accounts, admin_users

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


@bp.route("/users/", methods=["GET"])
@auth.permission_required("view_user")
def list_users(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.UsersQuery, bp.current_request)
    with transaction() as conn:
        if params.keyword:
            rows, count = admin_users.find_users(conn, keyword=params.keyword, page=params.paging)
        else:
            rows, count = admin_users.list_users(
                conn, page=params.paging, now=utcnow(), tz=settings().shop_timezone
            )
    return page_body([user_body(row) for row in rows], count, params.paging)


@bp.route("/users/", methods=["POST"])
@auth.permission_required("add_user")
def create_user(user: auth.CurrentUser) -> Response:
    body = parse(models.NewUser, bp.current_request)
    with transaction() as conn:
        row = accounts.register(
            conn,
            username=body.username,
            password=body.password,
            email=body.email,
            mobile=body.mobile,
        )
    return Response(body=user_body(row), status_code=201)
