"""A user's delivery addresses (at most 20) and which one is the default.

Orders copy the address into their own columns, so editing or deleting an address
never changes an order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.engine import Row

from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import addresses, users
from chalicelib.errors import NON_FIELD, NotFound, ValidationError

ADDRESS_LIMIT = 20
ADDRESS_FIELDS = ("title", "receiver", "province", "city", "district", "place", "mobile")


def list_for(conn: Connection, user_id: int) -> tuple[int | None, list[Row[Any]]]:
    default_id = conn.scalar(select(users.c.default_address_id).where(users.c.id == user_id))
    rows = conn.execute(
        select(addresses).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
    ).all()
    return default_id, list(rows)


def get(conn: Connection, user_id: int, address_id: int) -> Row[Any]:
    """The user's address; another user's address is simply not found."""
    row = conn.execute(
        select(addresses).where(addresses.c.id == address_id, addresses.c.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound("No such address.")
    return row


def create(conn: Connection, user_id: int, fields: dict[str, Any]) -> Row[Any]:
    # Lock the user row: two concurrent creates must not both pass the limit check.
    conn.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
    count = conn.scalar(select(func.count()).where(addresses.c.user_id == user_id)) or 0
    if count >= ADDRESS_LIMIT:
        raise ValidationError(f"At most {ADDRESS_LIMIT} addresses can be saved.", field=NON_FIELD)
    now = utcnow()
    values = {name: fields[name] for name in ADDRESS_FIELDS}
    if not values["title"]:
        values["title"] = values["receiver"]
    address_id = insert_id(
        conn.execute(
            addresses.insert().values(user_id=user_id, create_time=now, update_time=now, **values)
        )
    )
    # The first address becomes the default.
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.default_address_id.is_(None))
        .values(default_address_id=address_id)
    )
    return get(conn, user_id, address_id)


def replace(conn: Connection, user_id: int, address_id: int, fields: dict[str, Any]) -> Row[Any]:
    get(conn, user_id, address_id)
    values = {name: fields[name] for name in ADDRESS_FIELDS}
    if not values["title"]:
        values["title"] = values["receiver"]
    conn.execute(
        update(addresses)
        .where(addresses.c.id == address_id, addresses.c.user_id == user_id)
        .values(update_time=utcnow(), **values)
    )
    return get(conn, user_id, address_id)


def remove(conn: Connection, user_id: int, address_id: int) -> None:
    """Delete the user's address; 404 if it is not (or no longer) there. The delete's own
    row count decides: a concurrent delete that read the address before this one
    committed waits on the row, finds nothing, and is a 404, not a second 204."""
    deleted = conn.execute(
        delete(addresses).where(addresses.c.id == address_id, addresses.c.user_id == user_id)
    ).rowcount
    if not deleted:
        raise NotFound("No such address.")
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.default_address_id == address_id)
        .values(default_address_id=None)
    )


def make_default(conn: Connection, user_id: int, address_id: int) -> None:
    get(conn, user_id, address_id)
    conn.execute(update(users).where(users.c.id == user_id).values(default_address_id=address_id))
