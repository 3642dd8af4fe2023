"""Admin payments under /meiduo_admin/payments/: the money to give back.

Guarded by the `order` permissions (API.md has no payment content type): a payment to
give back is part of handling its order. GET needs view_order; a refund (POST) moves
money and needs its own permission, refund_order.

A payment that arrived for an order we could not fill (cancelled and its stock gone,
or paid already) is recorded as `refund_needed`; staff refund it at Alipay from here
(`POST payments/{id}/refund/`), and it becomes `refunded` and leaves the list.
"""

from __future__ import annotations

from typing import Any

from chalicelib import auth, resources
from chalicelib.api.models import admin_payments as models
from chalicelib.api.present import refund_record_body
from chalicelib.api.routing import ApiBlueprint, parse_query, path_id
from chalicelib.clock import isoformat
from chalicelib.config import settings
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import payments, refunds
from chalicelib.services.order_states import status_name

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def refund_body(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "order_id": row.order_id,
        "user_id": row.user_id,
        "order_status": row.order_status,
        "order_status_name": status_name(row.order_status),
        "provider": row.provider,
        "trade_no": row.trade_no,
        "amount": format_yuan(row.amount),
        "create_time": isoformat(row.create_time, settings().shop_timezone),
    }


@bp.route("/payments/refunds/", methods=["GET"])
@auth.permission_required("view_order")
def refunds_needed(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        rows, count = payments.refunds_needed(conn, page)
    return page_body([refund_body(row) for row in rows], count, page)


# Refunds move money: they need a permission of their own, `refund_order` (migration 0011).
@bp.route("/payments/{payment_id}/refund/", methods=["POST"])
@auth.permission_required("refund_order")
def refund_payment(user: auth.CurrentUser, payment_id: str) -> dict[str, Any]:
    """Give a `refund_needed` payment back at Alipay: 200 the payment, `refunded` (or
    still `refund_needed` with its refund pending when Alipay's answer was lost)."""
    paid_id = path_id(payment_id)
    refund = refunds.refund_late_payment(
        transaction, resources.alipay(), paid_id, actor=f"staff:{user.id}"
    )
    with transaction() as conn:
        payment = refunds.payment_row(conn, paid_id)
    return {**refund_body(payment), "status": payment.status, "refund": refund_record_body(refund)}
