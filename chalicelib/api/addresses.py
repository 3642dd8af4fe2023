"""Delivery addresses of the logged-in user."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth
from chalicelib.api.models import addresses as models
from chalicelib.api.present import address_body
from chalicelib.api.routing import ApiBlueprint, parse, path_id
from chalicelib.resources import transaction
from chalicelib.services import addresses

bp = ApiBlueprint(__name__)


@bp.route("/addresses/", methods=["GET"])
@auth.login_required
def list_addresses(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        default_id, rows = addresses.list_for(conn, user.id)
    return {
        "default_address_id": default_id,
        "limit": addresses.ADDRESS_LIMIT,
        "addresses": [address_body(row) for row in rows],
    }


@bp.route("/addresses/", methods=["POST"])
@auth.login_required
def create_address(user: auth.CurrentUser) -> Response:
    body = parse(models.AddressIn, bp.current_request)
    with transaction() as conn:
        row = addresses.create(conn, user.id, body.fields())
    return Response(body=address_body(row), status_code=201)


@bp.route("/addresses/{address_id}/", methods=["PUT"])
@auth.login_required
def replace_address(user: auth.CurrentUser, address_id: str) -> dict[str, Any]:
    body = parse(models.AddressIn, bp.current_request)
    with transaction() as conn:
        return address_body(addresses.replace(conn, user.id, path_id(address_id), body.fields()))


@bp.route("/addresses/{address_id}/", methods=["DELETE"])
@auth.login_required
def delete_address(user: auth.CurrentUser, address_id: str) -> Response:
    with transaction() as conn:
        addresses.remove(conn, user.id, path_id(address_id))
    return Response(body="", status_code=204)


@bp.route("/addresses/{address_id}/default/", methods=["PUT"])
@auth.login_required
def set_default_address(user: auth.CurrentUser, address_id: str) -> dict[str, Any]:
    with transaction() as conn:
        addresses.make_default(conn, user.id, path_id(address_id))
    return {"default_address_id": int(address_id)}
