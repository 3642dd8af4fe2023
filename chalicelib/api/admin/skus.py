"""Admin catalogue management under /meiduo_admin/skus/ (staff only).

Every change drops the cached home page once it is committed, so shoppers see it on
their next visit.
"""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Response
from pydantic import AfterValidator, Field

from chalicelib import auth, resources
from chalicelib.api.fields import (
    Id,
    OptionalText200,
    PageQuery,
    RequestModel,
    Text20,
    Text50,
    Text100,
    Yuan,
)
from chalicelib.api.routing import ApiBlueprint, parse, parse_query, path_id
from chalicelib.money import MAX_FEN, format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import catalog

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")

MAX_STOCK = 1_000_000_000
MAX_SPECS = 20


def _price(fen: int) -> int:
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"Must be between 0.00 and {format_yuan(MAX_FEN)}.")
    return fen


def _specs(specs: dict[str, str]) -> dict[str, str]:
    if len(specs) > MAX_SPECS:
        raise ValueError(f"At most {MAX_SPECS} specs.")
    return specs


class SkuIn(RequestModel):
    name: Text100
    caption: OptionalText200 = ""
    price: Annotated[Yuan, AfterValidator(_price)]
    stock: Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]
    category_id: Id
    spu_id: Id | None = None
    specs: Annotated[dict[Text20, Text50], AfterValidator(_specs)] = Field(default_factory=dict)
    is_launched: Annotated[bool, Field(strict=True)] = True

    def fields(self) -> catalog.SkuFields:
        return catalog.SkuFields(
            name=self.name,
            caption=self.caption,
            price=self.price,
            stock=self.stock,
            category_id=self.category_id,
            spu_id=self.spu_id,
            specs=dict(self.specs),
            is_launched=self.is_launched,
        )


class SkusQuery(PageQuery):
    # Part of a SKU's name, which is at most 100 characters.
    keyword: str = Field("", max_length=100)


def admin_sku_body(sku: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": sku["id"],
        "name": sku["name"],
        "caption": sku["caption"],
        "price": format_yuan(sku["price"]),
        "stock": sku["stock"],
        "sales": sku["sales"],
        "category_id": sku["category_id"],
        "spu_id": sku["spu_id"],
        "is_launched": bool(sku["is_launched"]),
        "specs": sku["specs"],
    }


@bp.route("/skus/simple/", methods=["GET"])
@auth.staff_required
def sku_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in catalog.admin_sku_names(conn)]


@bp.route("/skus/categories/", methods=["GET"])
@auth.staff_required
def sku_categories(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in catalog.leaf_categories(conn)]


@bp.route("/skus/", methods=["GET"])
@auth.permission_required("view_sku")
def list_skus(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(SkusQuery, bp.current_request)
    page, keyword = params.paging, params.keyword
    with transaction() as conn:
        found, count = catalog.admin_list_skus(conn, keyword=keyword, page=page)
    return page_body([admin_sku_body(sku) for sku in found], count, page)


@bp.route("/skus/", methods=["POST"])
@auth.permission_required("add_sku")
def create_sku(user: auth.CurrentUser) -> Response:
    body = parse(SkuIn, bp.current_request)
    with transaction() as conn:
        sku = catalog.create_sku(conn, resources.redis(), body.fields())
    return Response(body=admin_sku_body(sku), status_code=201)


@bp.route("/skus/{sku_id}/", methods=["GET"])
@auth.permission_required("view_sku")
def get_sku(user: auth.CurrentUser, sku_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return admin_sku_body(catalog.admin_sku(conn, path_id(sku_id)))


@bp.route("/skus/{sku_id}/", methods=["PUT"])
@auth.permission_required("change_sku")
def replace_sku(user: auth.CurrentUser, sku_id: str) -> dict[str, Any]:
    body = parse(SkuIn, bp.current_request)
    with transaction() as conn:
        sku = catalog.update_sku(conn, resources.redis(), path_id(sku_id), body.fields())
    return admin_sku_body(sku)


@bp.route("/skus/{sku_id}/", methods=["DELETE"])
@auth.permission_required("delete_sku")
def unlaunch_sku(user: auth.CurrentUser, sku_id: str) -> Response:
    with transaction() as conn:
        catalog.unlaunch_sku(conn, resources.redis(), path_id(sku_id))
    return Response(body="", status_code=204)
