"""User management for staff (meiduo admin): finding users by part of their username.

Creating users goes through accounts.register, like every sign-up: same validation of
duplicates, password hashed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Row

from chalicelib.db.tables import username_terms, users
from chalicelib.pagination import PageRequest
from chalicelib.services.username_terms import LIKE_ESCAPE, prefix_pattern

# What staff see of a user: never the password hash, nor the token version.
LISTED_COLUMNS = (users.c.id, users.c.username, users.c.mobile, users.c.email)


def find_users(
    conn: Connection, *, keyword: str, page: PageRequest
) -> tuple[list[Row[Any, Any, Any, Any]], int]:
    """One page of users whose username contains `keyword` (all users when it is empty),
    oldest account first, and how many match in all (exact).

    `%` and `_` in the keyword are literal characters (LIKE wildcards are escaped), so
    `a_b` finds only usernames containing "a_b". Both SQLite and MariaDB compare
    case-insensitively here (ASCII LIKE / the _ci collation).

    Through the suffix index (services/username_terms.py): `username LIKE '%kw%'` is
    `term LIKE 'kw%'` there, a range of its primary key, so neither the page nor the
    count scans every username; the answer is the scan's, exactly.
    """
    listed = select(*LISTED_COLUMNS).order_by(users.c.id).limit(page.limit).offset(page.offset)
    counted = select(func.count()).select_from(users)
    if keyword:
        in_range = username_terms.c.term.like(prefix_pattern(keyword), escape=LIKE_ESCAPE)
        matching = select(username_terms.c.user_id).where(in_range)
        listed = listed.where(users.c.id.in_(matching))
        counted = select(func.count(username_terms.c.user_id.distinct())).where(in_range)
    rows = list(conn.execute(listed).all())
    if 0 < len(rows) < page.limit or (not rows and page.offset == 0):
        # The last page is in hand, so the total is known without counting.
        return rows, page.offset + len(rows)
    return rows, int(conn.scalar(counted) or 0)
