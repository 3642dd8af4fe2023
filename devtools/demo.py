"""`manage.py seed-demo`: the demo shop that `make run` loads on first start.

Idempotent: everything is looked up by a natural key before it is created, so a
second run (every `make run`) changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import users
from chalicelib.services import accounts

DEMO_ADMIN = ("admin", "Admin12345")
DEMO_CUSTOMERS = [
    ("demo_buyer", "Buyer12345", "13800000001"),
    ("demo_fan", "Fan123456", "13800000002"),
]


def seed() -> str:
    with transaction() as conn:
        created = _accounts(conn)
    return f"demo data ready ({created} new accounts)"


def _accounts(conn: Connection) -> int:
    created = 0
    username, password = DEMO_ADMIN
    if not _exists(conn, username):
        accounts.register(
            conn,
            username=username,
            password=password,
            email="admin@example.com",
            is_staff=True,
            is_superuser=True,
        )
        created += 1
    for username, password, mobile in DEMO_CUSTOMERS:
        if not _exists(conn, username):
            accounts.register(conn, username=username, password=password, mobile=mobile)
            created += 1
    return created


def _exists(conn: Connection, username: str) -> bool:
    return conn.scalar(select(users.c.id).where(users.c.username == username)) is not None
