"""Response shapes more than one route module shows: image URLs, users, addresses, cart items."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import resources
from chalicelib.clock import isoformat
from chalicelib.config import settings
from chalicelib.money import format_yuan
from chalicelib.services import addresses, cart

# Tokens and a user's own details must not be kept by a browser or a shared cache.
NO_STORE = {"Cache-Control": "no-store"}


def private(body: dict[str, Any], status_code: int = 200) -> Response:
    """A response carrying a token or a user's own details: `Cache-Control: no-store`."""
    return Response(body=body, status_code=status_code, headers=dict(NO_STORE))


def image_url(file_id: str | None) -> str | None:
    return resources.storage().url(file_id) if file_id else None


def user_body(row: Any) -> dict[str, Any]:
    """A user as sign-up and the admin's user list show it: never the password hash."""
    return {"id": row.id, "username": row.username, "mobile": row.mobile, "email": row.email}


def address_body(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ("id", *addresses.ADDRESS_FIELDS)}


def item_body(line: cart.CartLine) -> dict[str, Any]:
    return {
        "sku_id": line.sku.id,
        "name": line.sku.name,
        "image": image_url(line.sku.default_image),
        "price": format_yuan(line.sku.price),
        "count": line.count,
        "selected": line.selected,
        "amount": format_yuan(line.amount),
        "stock": line.stock,
    }


def refund_record_body(refund: Any) -> dict[str, Any]:
    """A refund as staff see it (services.refunds): on the order, and as a refund's answer."""
    tz = settings().shop_timezone
    return {
        "refund_no": refund.refund_no,
        "order_id": refund.order_id,
        "amount": format_yuan(refund.amount),
        "status": refund.status,
        "reason": refund.reason,
        "provider": refund.provider,
        "actor": refund.actor,
        "failure": refund.failure,
        "create_time": isoformat(refund.create_time, tz),
        "update_time": isoformat(refund.update_time, tz),
    }
