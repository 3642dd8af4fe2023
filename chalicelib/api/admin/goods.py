"""Admin catalogue under /meiduo_admin/: SPUs (goods/), specifications (goods/specs/),
options (specs/options/), brands (goods/brands/), channels (goods/channels/), and the
small lists the console's forms pick from.

Each resource route needs its Django-style permission (`view_spu`, `add_brand`, ...);
the pickers need only staff. Ids and numbers may come as numeric strings, as the console
sends them. Deleting what a live row still uses is 409 `in_use` (services/goods.py).
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import admin_goods as models
from chalicelib.api.present import image_url
from chalicelib.api.routing import ApiBlueprint, parse, parse_query, path_id, validate
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import goods
from chalicelib.uploads import read_form

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def _pairs(rows: Any) -> list[dict[str, Any]]:
    return [{"id": row.id, "name": row.name} for row in rows]


def _no_content() -> Response:
    return Response(body="", status_code=204)


# --- the pickers (staff only) -----------------------------------------------------------


@bp.route("/goods/simple/", methods=["GET"])
@auth.staff_required
def spu_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return _pairs(goods.spu_names(conn))


@bp.route("/goods/brands/simple/", methods=["GET"])
@auth.staff_required
def brand_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return _pairs(goods.brand_names(conn))


@bp.route("/goods/specs/simple/", methods=["GET"])
@auth.staff_required
def spec_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": r.id, "name": r.name, "spu": r.spu} for r in goods.spec_names(conn)]


@bp.route("/goods/{spu_id}/specs/", methods=["GET"])
@auth.staff_required
def specs_of_spu(user: auth.CurrentUser, spu_id: str) -> list[dict[str, Any]]:
    found_id = path_id(spu_id)
    with transaction() as conn:
        return goods.specs_with_options(conn, found_id)


@bp.route("/goods/channel/categories/", methods=["GET"])
@auth.staff_required
def top_categories(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return _pairs(goods.first_level_categories(conn))


@bp.route("/goods/channel/categories/{category_id}/", methods=["GET"])
@auth.staff_required
def sub_categories(user: auth.CurrentUser, category_id: str) -> list[dict[str, Any]]:
    found_id = path_id(category_id)
    with transaction() as conn:
        return _pairs(goods.child_categories(conn, found_id))


@bp.route("/goods/categories/", methods=["GET"])
@auth.staff_required
def channel_categories(user: auth.CurrentUser) -> list[dict[str, Any]]:
    return top_categories(user)  # the same list, at the path the SPU form calls


@bp.route("/goods/channel_types/", methods=["GET"])
@auth.staff_required
def channel_types(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return _pairs(goods.channel_groups_list(conn))


# --- SPUs -----------------------------------------------------------------------------


def spu_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "brand": row.brand,
        "brand_id": row.brand_id,
        "category1_id": row.category1_id,
        "category2_id": row.category2_id,
        "category3_id": row.category3_id,
        "sales": int(row.sales),
        "comments": int(row.comments),
    }


def spu_body(row: Any) -> dict[str, Any]:
    return {
        **spu_row(row),
        "desc_detail": row.desc_detail,
        "desc_pack": row.desc_pack,
        "desc_service": row.desc_service,
    }


@bp.route("/goods/", methods=["GET"])
@auth.permission_required("view_spu")
def list_spus(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.GoodsQuery, bp.current_request)
    with transaction() as conn:
        found, count = goods.page_spus(conn, keyword=params.keyword, page=params.paging)
    return page_body([spu_row(row) for row in found], count, params.paging)


@bp.route("/goods/", methods=["POST"])
@auth.permission_required("add_spu")
def create_spu(user: auth.CurrentUser) -> Response:
    body = parse(models.SpuIn, bp.current_request)
    with transaction() as conn:
        created = goods.create_spu(conn, body.fields())
    return Response(body=spu_body(created), status_code=201)


@bp.route("/goods/{spu_id}/", methods=["GET"])
@auth.permission_required("view_spu")
def get_spu(user: auth.CurrentUser, spu_id: str) -> dict[str, Any]:
    found_id = path_id(spu_id)
    with transaction() as conn:
        return spu_body(goods.get_spu(conn, found_id))


@bp.route("/goods/{spu_id}/", methods=["PUT"])
@auth.permission_required("change_spu")
def replace_spu(user: auth.CurrentUser, spu_id: str) -> dict[str, Any]:
    found_id = path_id(spu_id)
    body = parse(models.SpuIn, bp.current_request)
    with transaction() as conn:
        return spu_body(goods.update_spu(conn, resources.redis(), found_id, body.fields()))


@bp.route("/goods/{spu_id}/", methods=["DELETE"])
@auth.permission_required("delete_spu")
def delete_spu(user: auth.CurrentUser, spu_id: str) -> Response:
    found_id = path_id(spu_id)
    with transaction() as conn:
        goods.delete_spu(conn, found_id)
    return _no_content()


# --- specifications -------------------------------------------------------------------


def spec_body(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "spu": row.spu, "spu_id": row.spu_id}


@bp.route("/goods/specs/", methods=["GET"])
@auth.permission_required("view_spec")
def list_specs(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = goods.page_specs(conn, page)
    return page_body([spec_body(row) for row in found], count, page)


@bp.route("/goods/specs/", methods=["POST"])
@auth.permission_required("add_spec")
def create_spec(user: auth.CurrentUser) -> Response:
    body = parse(models.SpecIn, bp.current_request)
    with transaction() as conn:
        created = goods.create_spec(conn, name=body.name, spu_id=body.spu_id)
    return Response(body=spec_body(created), status_code=201)


@bp.route("/goods/specs/{spec_id}/", methods=["GET"])
@auth.permission_required("view_spec")
def get_spec(user: auth.CurrentUser, spec_id: str) -> dict[str, Any]:
    found_id = path_id(spec_id)
    with transaction() as conn:
        return spec_body(goods.get_spec(conn, found_id))


@bp.route("/goods/specs/{spec_id}/", methods=["PUT"])
@auth.permission_required("change_spec")
def replace_spec(user: auth.CurrentUser, spec_id: str) -> dict[str, Any]:
    found_id = path_id(spec_id)
    body = parse(models.SpecIn, bp.current_request)
    with transaction() as conn:
        return spec_body(goods.update_spec(conn, found_id, name=body.name, spu_id=body.spu_id))


@bp.route("/goods/specs/{spec_id}/", methods=["DELETE"])
@auth.permission_required("delete_spec")
def delete_spec(user: auth.CurrentUser, spec_id: str) -> Response:
    found_id = path_id(spec_id)
    with transaction() as conn:
        goods.delete_spec(conn, found_id)
    return _no_content()


# --- options --------------------------------------------------------------------------


def option_body(row: Any) -> dict[str, Any]:
    return {"id": row.id, "value": row.value, "spec": row.spec, "spec_id": row.spec_id}


@bp.route("/specs/options/", methods=["GET"])
@auth.permission_required("view_option")
def list_options(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = goods.page_options(conn, page)
    return page_body([option_body(row) for row in found], count, page)


@bp.route("/specs/options/", methods=["POST"])
@auth.permission_required("add_option")
def create_option(user: auth.CurrentUser) -> Response:
    body = parse(models.OptionIn, bp.current_request)
    with transaction() as conn:
        created = goods.create_option(conn, value=body.value, spec_id=body.spec_id)
    return Response(body=option_body(created), status_code=201)


@bp.route("/specs/options/{option_id}/", methods=["GET"])
@auth.permission_required("view_option")
def get_option(user: auth.CurrentUser, option_id: str) -> dict[str, Any]:
    found_id = path_id(option_id)
    with transaction() as conn:
        return option_body(goods.get_option(conn, found_id))


@bp.route("/specs/options/{option_id}/", methods=["PUT"])
@auth.permission_required("change_option")
def replace_option(user: auth.CurrentUser, option_id: str) -> dict[str, Any]:
    found_id = path_id(option_id)
    body = parse(models.OptionIn, bp.current_request)
    with transaction() as conn:
        changed = goods.update_option(conn, found_id, value=body.value, spec_id=body.spec_id)
    return option_body(changed)


@bp.route("/specs/options/{option_id}/", methods=["DELETE"])
@auth.permission_required("delete_option")
def delete_option(user: auth.CurrentUser, option_id: str) -> Response:
    found_id = path_id(option_id)
    with transaction() as conn:
        goods.delete_option(conn, found_id)
    return _no_content()


# --- brands (multipart: name, first_letter, logo) -------------------------------------


def brand_body(brand: goods.Brand) -> dict[str, Any]:
    return {
        "id": brand.id,
        "name": brand.name,
        "logo": image_url(brand.logo),
        "first_letter": brand.first_letter,
    }


@bp.route("/goods/brands/", methods=["GET"])
@auth.permission_required("view_brand")
def list_brands(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = goods.page_brands(conn, page)
    return page_body([brand_body(brand) for brand in found], count, page)


@bp.route("/goods/brands/", methods=["POST"], content_types=["multipart/form-data"])
@auth.permission_required("add_brand")
def create_brand(user: auth.CurrentUser) -> Response:
    form = validate(models.NewBrand, read_form(bp.current_request))
    with transaction() as conn:
        created = goods.create_brand(
            conn,
            resources.storage(),
            name=form.name,
            first_letter=form.first_letter,
            logo=form.logo,
        )
    return Response(body=brand_body(created), status_code=201)


@bp.route("/goods/brands/{brand_id}/", methods=["GET"])
@auth.permission_required("view_brand")
def get_brand(user: auth.CurrentUser, brand_id: str) -> dict[str, Any]:
    found_id = path_id(brand_id)
    with transaction() as conn:
        return brand_body(goods.get_brand(conn, found_id))


@bp.route("/goods/brands/{brand_id}/", methods=["PUT"], content_types=["multipart/form-data"])
@auth.permission_required("change_brand")
def replace_brand(user: auth.CurrentUser, brand_id: str) -> dict[str, Any]:
    found_id = path_id(brand_id)
    form = validate(models.ChangedBrand, read_form(bp.current_request))
    with transaction() as conn:
        changed = goods.update_brand(
            conn,
            resources.storage(),
            found_id,
            name=form.name,
            first_letter=form.first_letter,
            logo=form.logo,
        )
    return brand_body(changed)


@bp.route("/goods/brands/{brand_id}/", methods=["DELETE"])
@auth.permission_required("delete_brand")
def delete_brand(user: auth.CurrentUser, brand_id: str) -> Response:
    found_id = path_id(brand_id)
    with transaction() as conn:
        goods.delete_brand(conn, found_id)
    return _no_content()


# --- channels -------------------------------------------------------------------------


def channel_body(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "category": row.category,
        "category_id": row.category_id,
        "group": row.group,
        "group_id": row.group_id,
        "sequence": row.sequence,
        "url": row.url,
    }


@bp.route("/goods/channels/", methods=["GET"])
@auth.permission_required("view_channel")
def list_channels(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = goods.page_channels(conn, page)
    return page_body([channel_body(row) for row in found], count, page)


@bp.route("/goods/channels/", methods=["POST"])
@auth.permission_required("add_channel")
def create_channel(user: auth.CurrentUser) -> Response:
    body = parse(models.ChannelIn, bp.current_request)
    with transaction() as conn:
        created = goods.create_channel(conn, body.fields())
    return Response(body=channel_body(created), status_code=201)


@bp.route("/goods/channels/{channel_id}/", methods=["GET"])
@auth.permission_required("view_channel")
def get_channel(user: auth.CurrentUser, channel_id: str) -> dict[str, Any]:
    found_id = path_id(channel_id)
    with transaction() as conn:
        return channel_body(goods.get_channel(conn, found_id))


@bp.route("/goods/channels/{channel_id}/", methods=["PUT"])
@auth.permission_required("change_channel")
def replace_channel(user: auth.CurrentUser, channel_id: str) -> dict[str, Any]:
    found_id = path_id(channel_id)
    body = parse(models.ChannelIn, bp.current_request)
    with transaction() as conn:
        return channel_body(goods.update_channel(conn, found_id, body.fields()))


@bp.route("/goods/channels/{channel_id}/", methods=["DELETE"])
@auth.permission_required("delete_channel")
def delete_channel(user: auth.CurrentUser, channel_id: str) -> Response:
    found_id = path_id(channel_id)
    with transaction() as conn:
        goods.delete_channel(conn, found_id)
    return _no_content()
