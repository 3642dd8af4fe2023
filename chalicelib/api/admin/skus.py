"""Admin SKUs under /meiduo_admin/skus/ (staff with the sku permissions).

The console sends form values as strings ("12", "true", "5999.00"): the admin types of
api/fields.py take them. Every change drops the cached home page once it is committed.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import admin_skus as models
from chalicelib.api.routing import ApiBlueprint, parse, parse_query, path_id
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import admin_skus, goods

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def sku_row(sku: Any) -> dict[str, Any]:
    """A SKU as the console's list shows it (`category` is the category's name)."""
    return {
        "id": sku["id"],
        "name": sku["name"],
        "caption": sku["caption"],
        "price": format_yuan(sku["price"]),
        "cost_price": format_yuan(sku["cost_price"]),
        "market_price": format_yuan(sku["market_price"]),
        "stock": sku["stock"],
        "sales": sku["sales"],
        "category": sku["category"],
        "category_id": sku["category_id"],
        "spu_id": sku["spu_id"],
        "is_launched": bool(sku["is_launched"]),
    }


def sku_body(sku: dict[str, Any]) -> dict[str, Any]:
    """One SKU with its choices, as the console's edit dialog reads it."""
    return {
        **sku_row(sku),
        "specs": [{"spec_id": spec, "option_id": option} for spec, option in sku["specs"]],
    }


@bp.route("/skus/simple/", methods=["GET"])
@auth.staff_required
def sku_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in admin_skus.sku_names(conn)]


@bp.route("/skus/categories/", methods=["GET"])
@auth.staff_required
def sku_categories(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in goods.third_level_categories(conn)]


@bp.route("/skus/", methods=["GET"])
@auth.permission_required("view_sku")
def list_skus(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.SkusQuery, bp.current_request)
    page, keyword = params.paging, params.keyword
    with transaction() as conn:
        found, count = admin_skus.page_skus(conn, keyword=keyword, page=page)
    return page_body([sku_row(row._mapping) for row in found], count, page)


@bp.route("/skus/", methods=["POST"])
@auth.permission_required("add_sku")
def create_sku(user: auth.CurrentUser) -> Response:
    body = parse(models.SkuIn, bp.current_request)
    with transaction() as conn:
        sku = admin_skus.create_sku(conn, resources.redis(), body.fields())
    return Response(body=sku_body(sku), status_code=201)


@bp.route("/skus/{sku_id}/", methods=["GET"])
@auth.permission_required("view_sku")
def get_sku(user: auth.CurrentUser, sku_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return sku_body(admin_skus.get_sku(conn, path_id(sku_id)))


@bp.route("/skus/{sku_id}/", methods=["PUT"])
@auth.permission_required("change_sku")
def replace_sku(user: auth.CurrentUser, sku_id: str) -> dict[str, Any]:
    found_id = path_id(sku_id)
    body = parse(models.SkuIn, bp.current_request)
    with transaction() as conn:
        sku = admin_skus.update_sku(conn, resources.redis(), found_id, body.fields())
    return sku_body(sku)


@bp.route("/skus/{sku_id}/", methods=["DELETE"])
@auth.permission_required("delete_sku")
def delete_sku(user: auth.CurrentUser, sku_id: str) -> Response:
    found_id = path_id(sku_id)
    with transaction() as conn:
        admin_skus.delete_sku(conn, resources.redis(), found_id)
    return Response(body="", status_code=204)
