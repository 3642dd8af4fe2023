"""POST /meiduo_admin/authorizations/: staff login for the meiduo admin front-end."""

from __future__ import annotations

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import accounts as models
from chalicelib.api.present import private
from chalicelib.api.routing import ApiBlueprint, parse
from chalicelib.resources import transaction
from chalicelib.services import accounts

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


@bp.route("/authorizations/", methods=["POST"])
@auth.public
def admin_log_in() -> Response:
    body = parse(models.Credentials, bp.current_request)
    with transaction() as conn:
        row = accounts.login(
            conn, resources.redis(), username=body.username, password=body.password, staff_only=True
        )
    # The meiduo admin front-end reads `id`; `user_id` matches the storefront login.
    return private(
        {
            "token": accounts.token_for(row),
            "id": row.id,
            "user_id": row.id,
            "username": row.username,
        }
    )
