"""Storefront catalogue: categories, channels, home, SKU lists and detail, comments, search,
history."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, clock, config, resources
from chalicelib.api.models import catalog as models
from chalicelib.api.present import image_url
from chalicelib.api.routing import ApiBlueprint, parse, parse_query, path_id
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import catalog, history, search

bp = ApiBlueprint(__name__)


def sku_item_body(item: catalog.SkuItem) -> dict[str, Any]:
    """The `SkuItem` of docs/openapi.yaml, shared by every list of SKUs."""
    return {
        "id": item.id,
        "name": item.name,
        "price": format_yuan(item.price),
        "image": image_url(item.image),
        "sales": item.sales,
        "comments": item.comments,
    }


@bp.route("/categories/", methods=["GET"])
@auth.public
def list_categories() -> list[dict[str, Any]]:
    with transaction() as conn:
        return catalog.category_tree(conn)


@bp.route("/channels/", methods=["GET"])
@auth.public
def list_channels() -> list[dict[str, Any]]:
    with transaction() as conn:
        return catalog.channel_menu(conn)


@bp.route("/home/", methods=["GET"])
@auth.public
def home() -> dict[str, Any]:
    with transaction() as conn:
        page = catalog.home_page(conn, resources.redis())
    return {
        "banners": [
            {
                "id": banner["id"],
                "title": banner["title"],
                "image": image_url(banner["image"]),
                "sku_id": banner["sku_id"],
            }
            for banner in page["banners"]
        ],
        "floors": [
            {"category": floor["category"], "skus": [sku_item_body(s) for s in floor["skus"]]}
            for floor in page["floors"]
        ],
    }


@bp.route("/skus/", methods=["GET"])
@auth.public
def list_skus() -> dict[str, Any]:
    params = parse_query(models.SkuQuery, bp.current_request)
    with transaction() as conn:
        items, count = catalog.list_skus(
            conn,
            category_id=params.category,
            brand_id=params.brand,
            ordering=params.ordering,
            page=params.paging,
        )
    if params.category is not None:
        catalog.record_category_view(
            resources.redis(), params.category, config.settings().shop_timezone
        )
    return page_body([sku_item_body(item) for item in items], count, params.paging)


@bp.route("/skus/{sku_id}/", methods=["GET"])
@auth.public
def sku_detail(sku_id: str) -> dict[str, Any]:
    with transaction() as conn:
        found = catalog.sku_detail(conn, path_id(sku_id))
    sku, spu, brand = found["sku"], found["spu"], found["brand"]
    return {
        "id": sku.id,
        "name": sku.name,
        "caption": sku.caption,
        "price": format_yuan(sku.price),
        "stock": sku.stock,
        "sales": sku.sales,
        "comments": sku.comments,
        "category": {"id": found["category"].id, "name": found["category"].name},
        "spu": {
            "id": spu.id,
            "name": spu.name,
            "desc": spu.desc_detail,  # what clients read before the three descriptions
            "desc_detail": spu.desc_detail,
            "desc_pack": spu.desc_pack,
            "desc_service": spu.desc_service,
        },
        "brand": brand and {**brand, "logo": image_url(brand["logo"])},
        "specs": found["specs"],
        "images": [image_url(file_id) for file_id in found["images"]],
        "variants": found["variants"],
    }


@bp.route("/skus/{sku_id}/comments/", methods=["GET"])
@auth.public
def sku_comments(sku_id: str) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    tz = config.settings().shop_timezone
    with transaction() as conn:
        comments, count = catalog.sku_comments(conn, path_id(sku_id), page)
    return page_body(
        [
            {
                "username": c.username,
                "score": c.score,
                "content": c.content,
                "create_time": clock.isoformat(c.create_time, tz),
            }
            for c in comments
        ],
        count,
        page,
    )


@bp.route("/search/", methods=["GET"])
@auth.public
def search_skus() -> dict[str, Any]:
    params = parse_query(models.SearchQuery, bp.current_request)
    with transaction() as conn:
        items, count = search.search_skus(conn, params.q, params.paging)
    return page_body([sku_item_body(item) for item in items], count, params.paging)


@bp.route("/browse_histories/", methods=["POST"])
@auth.login_required
def record_history(user: auth.CurrentUser) -> Response:
    body = parse(models.HistoryIn, bp.current_request)
    with transaction() as conn:
        history.record_view(conn, resources.redis(), user.id, body.sku_id)
    return Response(body={"sku_id": body.sku_id}, status_code=201)


@bp.route("/browse_histories/", methods=["GET"])
@auth.login_required
def list_history(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        items = history.recent_views(conn, resources.redis(), user.id)
    return [sku_item_body(item) for item in items]
