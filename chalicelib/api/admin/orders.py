"""Admin orders under /meiduo_admin/orders/ (the `order` permissions)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import admin_orders as models
from chalicelib.api.orders import idempotency_key, order_body, order_id_param
from chalicelib.api.present import image_url, refund_record_body
from chalicelib.api.routing import ApiBlueprint, parse, parse_query
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import orders, payments, refunds
from chalicelib.services.order_states import Status

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def admin_order_body(detail: orders.OrderDetail) -> dict[str, Any]:
    return {
        **order_body(detail),
        "user_id": detail.order.user_id,
        "username": detail.order.username,
        "needs_refund": bool(detail.order.needs_refund),
        "refunds": admin_refunds(detail),  # refunds: see the refund routes below
    }


def admin_order_detail_body(detail: orders.OrderDetail) -> dict[str, Any]:
    """The order as the list shows it, and what the console's order page reads: the buyer
    (`user`) and `skus`, each line as {count, price, sku: {name, default_image_url}} (the
    name and price as ordered, the SKU's image as it is now)."""
    return {
        **admin_order_body(detail),
        "user": detail.order.username,
        "skus": [
            {
                "count": line.count,
                "price": format_yuan(line.price),
                "sku": {"name": line.name, "default_image_url": image_url(line.default_image)},
            }
            for line in detail.lines
        ],
    }


@bp.route("/orders/", methods=["GET"])
@auth.permission_required("view_order")
def list_orders(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.OrdersQuery, bp.current_request)
    page, keyword = params.paging, params.keyword
    with transaction() as conn:
        found, count = orders.page(conn, page, keyword=keyword or None)
    return page_body([admin_order_body(detail) for detail in found], count, page)


@bp.route("/orders/{order_id}/", methods=["GET"])
@auth.permission_required("view_order")
def order_detail(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return admin_order_detail_body(orders.get(conn, order_id_param(order_id)))


@bp.route("/orders/{order_id}/status/", methods=["PUT"])
@auth.permission_required("change_order")
def change_status(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    body = parse(models.NewStatus, bp.current_request)
    order_id = order_id_param(order_id)
    if body.status == Status.CANCELLED:
        detail = payments.cancel_order(
            transaction, resources.alipay(), order_id, actor=f"staff:{user.id}"
        )
    else:
        with transaction() as conn:
            detail = orders.change_status_by_staff(
                conn, staff_id=user.id, order_id=order_id, status=body.status
            )
    return admin_order_body(detail)


# --- refunds (services.refunds) ----------------------------------------------------------
# Refunds move money: they need a permission of their own, `refund_order` (migration 0011).


def admin_refunds(detail: orders.OrderDetail) -> list[dict[str, Any]]:
    return [refund_record_body(refund) for refund in detail.refunds]


@bp.route("/orders/{order_id}/refunds/", methods=["POST"])
@auth.permission_required("refund_order")
def refund_order(user: auth.CurrentUser, order_id: str) -> Response:
    request = bp.current_request
    body = parse(models.NewRefund, request)
    refund = refunds.refund_order(
        transaction,
        resources.alipay(),
        order_id_param(order_id),
        actor=f"staff:{user.id}",
        amount=body.amount,
        reason=body.reason,
        idempotency_key=idempotency_key(request.headers),
    )
    return Response(body=refund_record_body(refund), status_code=201)
