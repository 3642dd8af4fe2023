"""Checkout and the buyer's orders: settlement, placing, cancelling, paying, receipt, comments."""

from __future__ import annotations

import re
from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import orders as models
from chalicelib.api.present import address_body, image_url, item_body
from chalicelib.api.routing import ApiBlueprint, parse, parse_query
from chalicelib.clock import isoformat
from chalicelib.config import settings
from chalicelib.errors import NotFound, ValidationError
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import orders, payments
from chalicelib.services.order_states import status_name

bp = ApiBlueprint(__name__)

IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,64}")
ORDER_ID_RE = re.compile(r"[0-9]{1,32}")


def order_id_param(raw: str) -> str:
    """Order ids are digits; anything else cannot name an order."""
    if not ORDER_ID_RE.fullmatch(raw):
        raise NotFound("No such order.")
    return raw


def idempotency_key(headers: Any) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise ValidationError(
            "Use 1-64 printable ASCII characters, e.g. a UUID.", field="Idempotency-Key"
        )
    return str(key)


def order_body(detail: orders.OrderDetail) -> dict[str, Any]:
    tz = settings().shop_timezone
    order = detail.order
    return {
        "order_id": order.order_id,
        "status": order.status,
        "status_name": status_name(order.status),
        "total_count": order.total_count,
        "total_amount": format_yuan(order.total_amount),
        "freight": format_yuan(order.freight),
        "payment_amount": format_yuan(order.payment_amount),
        "pay_method": order.pay_method,
        "create_time": isoformat(order.create_time, tz),
        "update_time": isoformat(order.update_time, tz),
        "expires_at": isoformat(order.expires_at, tz),
        "paid_at": isoformat(order.paid_at, tz),
        "address": {name: getattr(order, name) for name in orders.ADDRESS_SNAPSHOT},
        "lines": [
            {
                "sku_id": line.sku_id,
                "name": line.name,
                "image": image_url(line.default_image),
                "price": format_yuan(line.price),
                "count": line.count,
                "amount": format_yuan(line.price * line.count),
                "score": line.score,
                "comment": line.comment,
                "anonymous": bool(line.is_anonymous),
                "commented_at": isoformat(line.commented_at, tz),
            }
            for line in detail.lines
        ],
        "refunds": [refund_summary(refund) for refund in detail.refunds],
    }


def refund_summary(refund: Any) -> dict[str, Any]:
    """A refund as the buyer sees it on the order."""
    return {
        "refund_no": refund.refund_no,
        "amount": format_yuan(refund.amount),
        "status": refund.status,
        "create_time": isoformat(refund.create_time, settings().shop_timezone),
    }


@bp.route("/orders/settlement/", methods=["GET"])
@auth.login_required
def settlement(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        due = orders.settlement(conn, resources.redis(), user.id)
    return {
        "addresses": [address_body(row) for row in due.addresses],
        "items": [item_body(line) for line in due.lines],
        "total_count": due.total_count,
        "total_amount": format_yuan(due.total_amount),
        "freight": format_yuan(due.freight),
        "payment_amount": format_yuan(due.payment_amount),
    }


@bp.route("/orders/", methods=["POST"])
@auth.login_required
def place_order(user: auth.CurrentUser) -> Response:
    request = bp.current_request
    body = parse(models.PlaceOrder, request)
    key = idempotency_key(request.headers)
    with transaction() as conn:
        placed = orders.place(
            conn,
            resources.redis(),
            user_id=user.id,
            address_id=body.address_id,
            pay_method=body.pay_method,
            idempotency_key=key,
        )
    return Response(body=order_body(placed.detail), status_code=201)


@bp.route("/orders/", methods=["GET"])
@auth.login_required
def list_orders(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.OrdersQuery, bp.current_request)
    page, status = params.paging, params.status
    with transaction() as conn:
        found, count = orders.page(conn, page, user_id=user.id, status=status)
    return page_body([order_body(detail) for detail in found], count, page)


@bp.route("/orders/{order_id}/", methods=["GET"])
@auth.login_required
def order_detail(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return order_body(orders.get(conn, order_id_param(order_id), user_id=user.id))


@bp.route("/orders/{order_id}/cancel/", methods=["POST"])
@auth.login_required
def cancel_order(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    detail = payments.cancel_order(
        transaction,
        resources.alipay(),
        order_id_param(order_id),
        actor=f"user:{user.id}",
        user_id=user.id,
    )
    return order_body(detail)


@bp.route("/orders/{order_id}/payment/", methods=["POST"])
@auth.login_required
def pay_order(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    with transaction() as conn:
        detail = orders.pay(conn, user_id=user.id, order_id=order_id_param(order_id))
    if detail.order.pay_method == "alipay":
        return {"pay_url": payments.alipay_page_pay_url(detail.order, resources.alipay())}
    return order_body(detail)


@bp.route("/orders/{order_id}/receipt/", methods=["POST"])
@auth.login_required
def confirm_receipt(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    with transaction() as conn:
        detail = orders.confirm_receipt(conn, user_id=user.id, order_id=order_id_param(order_id))
    return order_body(detail)


@bp.route("/orders/{order_id}/comments/", methods=["POST"])
@auth.login_required
def comment_order(user: auth.CurrentUser, order_id: str) -> Response:
    body = parse(models.Comments, bp.current_request)
    comments = [orders.Comment(c.sku_id, c.score, c.content, c.anonymous) for c in body.comments]
    with transaction() as conn:
        detail = orders.comment(
            conn, user_id=user.id, order_id=order_id_param(order_id), comments=comments
        )
    return Response(body=order_body(detail), status_code=201)
