"""`manage.py seed-demo`: the demo shop that `make run` loads on first start.

Idempotent: everything is looked up by a natural key before it is created, so a
second run (every `make run`) changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from chalicelib.db.engine import insert_id, transaction
from chalicelib.db.tables import categories, users
from chalicelib.services import accounts
from devtools import catalog_words

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


def ensure_categories(conn: Connection) -> dict[str, int]:
    """The two-level category tree of the product lines; leaf name -> id (found or made)."""
    rows = conn.execute(select(categories.c.id, categories.c.name, categories.c.parent_id)).all()
    tops = {r.name: r.id for r in rows if r.parent_id is None}
    leaves = {(r.parent_id, r.name): r.id for r in rows if r.parent_id is not None}
    leaf_ids: dict[str, int] = {}
    for position, top in enumerate(catalog_words.TOP_CATEGORIES, start=1):
        if top not in tops:
            tops[top] = insert_id(
                conn.execute(
                    categories.insert().values(name=top, parent_id=None, sort_order=position)
                )
            )
    for position, line in enumerate(catalog_words.PRODUCT_LINES, start=1):
        parent_id = tops[line.parent]
        found = leaves.get((parent_id, line.category))
        if found is None:
            found = insert_id(
                conn.execute(
                    categories.insert().values(
                        name=line.category, parent_id=parent_id, sort_order=position
                    )
                )
            )
        leaf_ids[line.category] = int(found)
    return leaf_ids
