"""Response shapes more than one route module shows: image URLs, users, addresses, cart items."""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from chalicelib.money import format_yuan
from chalicelib.services import addresses, cart


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
