"""Alipay: the notify webhook, the buyer's return from the cashier, and the payment status."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.orders import order_id_param
from chalicelib.api.routing import ApiBlueprint, query
from chalicelib.config import settings
from chalicelib.resources import transaction
from chalicelib.services import payments
from chalicelib.services.order_states import status_name

bp = ApiBlueprint(__name__)
log = logging.getLogger("shop.payments")

# Alipay's notifies are a few hundred bytes; anything near this is not one.
MAX_NOTIFY_BYTES = 64 * 1024
MAX_NOTIFY_FIELDS = 100


def _plain(text: str) -> Response:
    return Response(body=text, status_code=200, headers={"Content-Type": "text/plain"})


def _form_fields(raw: bytes | str | None) -> dict[str, str] | None:
    """A form-urlencoded body as a dict; None when it cannot be one."""
    raw = raw.encode() if isinstance(raw, str) else raw or b""
    if len(raw) > MAX_NOTIFY_BYTES:
        return None
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            max_num_fields=MAX_NOTIFY_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return None
    fields = dict(pairs)
    return fields if len(fields) == len(pairs) else None  # a repeated field is not Alipay's


def order_status_body(order: Any) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "status": order.status,
        "status_name": status_name(order.status),
    }


@bp.route(
    "/payments/alipay/notify/",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
@auth.public
def alipay_notify() -> Response:
    """Alipay's asynchronous notify: `success` once the payment is recorded (or was)."""
    fields = _form_fields(bp.current_request.raw_body)
    if fields is None:
        log.warning("alipay notify refused: the body is not a form")
        return _plain("failure")
    try:
        report = payments.verified_alipay_notify(resources.alipay(), fields)
        with transaction() as conn:
            settlement = payments.settle_alipay_payment(conn, report)
    except payments.NotifyRejected as exc:
        log.warning(
            "alipay notify refused: %s (out_trade_no=%r trade_no=%r notify_id=%r)",
            exc.reason,
            fields.get("out_trade_no"),
            fields.get("trade_no"),
            fields.get("notify_id"),
        )
        return _plain("failure")
    log.info("alipay notify for %s: %s", report.out_trade_no, settlement)
    return _plain("success")


@bp.route("/payments/alipay/return/", methods=["GET"])
@auth.public
def alipay_return() -> Any:
    """The buyer back from the cashier: to FRONTEND_URL with the order id, or JSON."""
    order = payments.order_after_return(transaction, resources.alipay(), query(bp.current_request))
    frontend_url = settings().frontend_url
    if frontend_url is None:
        return order_status_body(order)
    separator = "&" if "?" in frontend_url else "?"
    location = frontend_url + separator + urlencode({"order_id": order.order_id})
    return Response(body="", status_code=302, headers={"Location": location})


@bp.route("/orders/{order_id}/payment/status/", methods=["GET"])
@auth.login_required
def payment_status(user: auth.CurrentUser, order_id: str) -> dict[str, Any]:
    order = payments.payment_status(
        transaction, resources.alipay(), user_id=user.id, order_id=order_id_param(order_id)
    )
    return order_status_body(order)
