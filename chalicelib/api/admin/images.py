"""Admin SKU images under /meiduo_admin/skus/images/ (the `image` permissions).

POST and PUT take multipart/form-data (fields `sku` and `image`); DELETE hides an image
and keeps its file, `?purge=true` removes the image and deletes its file.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import admin_images as models
from chalicelib.api.present import image_url
from chalicelib.api.routing import ApiBlueprint, parse_query, path_id, validate
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import images
from chalicelib.uploads import read_form

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def image_body(image: images.SkuImage) -> dict[str, Any]:
    return {"id": image.id, "sku": image.sku_id, "image": image_url(image.file_id)}


@bp.route("/skus/images/", methods=["GET"])
@auth.permission_required("view_image")
def list_images(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = images.page_sku_images(conn, page)
    return page_body([image_body(image) for image in found], count, page)


@bp.route("/skus/images/", methods=["POST"], content_types=["multipart/form-data"])
@auth.permission_required("add_image")
def add_image(user: auth.CurrentUser) -> Response:
    form = validate(models.NewSkuImage, read_form(bp.current_request))
    with transaction() as conn:
        added = images.add_sku_image(
            conn, resources.storage(), resources.redis(), sku_id=form.sku, image=form.image
        )
    return Response(body=image_body(added), status_code=201)


@bp.route("/skus/images/{image_id}/", methods=["GET"])
@auth.permission_required("view_image")
def get_image(user: auth.CurrentUser, image_id: str) -> dict[str, Any]:
    with transaction() as conn:
        found = images.get_sku_image(conn, path_id(image_id))
    return image_body(found)


@bp.route("/skus/images/{image_id}/", methods=["PUT"], content_types=["multipart/form-data"])
@auth.permission_required("change_image")
def change_image(user: auth.CurrentUser, image_id: str) -> dict[str, Any]:
    found_id = path_id(image_id)
    form = validate(models.ChangedSkuImage, read_form(bp.current_request))
    with transaction() as conn:
        changed = images.change_sku_image(
            conn,
            resources.storage(),
            resources.redis(),
            found_id,
            sku_id=form.sku,
            image=form.image,
        )
    return image_body(changed)


@bp.route("/skus/images/{image_id}/", methods=["DELETE"])
@auth.permission_required("delete_image")
def remove_image(user: auth.CurrentUser, image_id: str) -> Response:
    found_id = path_id(image_id)
    purge = parse_query(models.RemoveQuery, bp.current_request).purge
    with transaction() as conn:
        images.remove_sku_image(conn, resources.storage(), resources.redis(), found_id, purge=purge)
    return Response(body="", status_code=204)
