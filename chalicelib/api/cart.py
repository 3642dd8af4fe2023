"""The Redis cart of the logged-in user."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import cart as models
from chalicelib.api.present import item_body
from chalicelib.api.routing import ApiBlueprint, parse, path_id
from chalicelib.money import format_yuan
from chalicelib.resources import transaction
from chalicelib.services import cart

bp = ApiBlueprint(__name__)


@bp.route("/cart/", methods=["GET"])
@auth.login_required
def view_cart(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        lines = cart.lines(conn, resources.redis(), user.id)
    selected = [line for line in lines if line.selected]
    return {
        "items": [item_body(line) for line in lines],
        "total_count": sum(line.count for line in lines),
        "selected_count": sum(line.count for line in selected),
        "selected_amount": format_yuan(sum(line.amount for line in selected)),
    }


@bp.route("/cart/", methods=["POST"])
@auth.login_required
def add_to_cart(user: auth.CurrentUser) -> Response:
    body = parse(models.AddToCart, bp.current_request)
    with transaction() as conn:
        line = cart.add(conn, resources.redis(), user.id, body.sku_id, body.count, body.selected)
    return Response(body=item_body(line), status_code=201)


@bp.route("/cart/selection/", methods=["PUT"])
@auth.login_required
def select_all(user: auth.CurrentUser) -> dict[str, Any]:
    body = parse(models.Selection, bp.current_request)
    cart.select_all(resources.redis(), user.id, body.selected)
    return {"selected": body.selected}


@bp.route("/cart/count/", methods=["GET"])
@auth.login_required
def cart_count(user: auth.CurrentUser) -> dict[str, Any]:
    return {"count": cart.unit_count(resources.redis(), user.id)}


@bp.route("/cart/{sku_id}/", methods=["PUT"])
@auth.login_required
def change_line(user: auth.CurrentUser, sku_id: str) -> dict[str, Any]:
    body = parse(models.ChangeLine, bp.current_request)
    with transaction() as conn:
        line = cart.update(
            conn,
            resources.redis(),
            user.id,
            path_id(sku_id),
            count=body.count,
            selected=body.selected,
        )
    return item_body(line)


@bp.route("/cart/{sku_id}/", methods=["DELETE"])
@auth.login_required
def remove_line(user: auth.CurrentUser, sku_id: str) -> Response:
    cart.remove(resources.redis(), user.id, [path_id(sku_id)])
    return Response(body="", status_code=204)
