"""User management for staff (meiduo admin): finding users by part of their username.

Creating users goes through accounts.register, like every sign-up: same validation of
duplicates, password hashed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, distinct, func, select
from sqlalchemy.engine import Row

from chalicelib.db.tables import username_terms, users
from chalicelib.pagination import PageRequest
from chalicelib.services.username_terms import LIKE_ESCAPE, prefix_pattern

# What staff see of a user: never the password hash, nor the token version.
LISTED_COLUMNS = (users.c.id, users.c.username, users.c.mobile, users.c.email)


# Index entries counted to tell a rare keyword from a common one (~1 ms at most).
PROBE_LIMIT = 2000
# Matching users counted at most: the count is exact up to here (docs/openapi.yaml).
COUNT_CAP = 10_000


def find_users(
    conn: Connection,
    *,
    keyword: str,
    page: PageRequest,
    probe_limit: int = PROBE_LIMIT,
    count_cap: int = COUNT_CAP,
) -> tuple[list[Row[Any, Any, Any, Any]], int]:
    """One page of users whose username contains `keyword` (all users when it is empty),
    oldest account first, and how many match in all: exact up to `count_cap`, that
    number when more match.

    `%` and `_` in the keyword are literal characters (LIKE wildcards are escaped), so
    `a_b` finds only usernames containing "a_b". Both SQLite and MariaDB compare
    case-insensitively here (ASCII LIKE / the _ci collation).

    Through the suffix index (services/username_terms.py), where `username LIKE '%kw%'`
    is `term LIKE 'kw%'`, a range of the primary key. A probe counts the range up to
    `probe_limit` entries: none means no match; a rare keyword's users are read through
    the index and counted exactly by the probe itself; a common one's page is found by
    reading users in id order with the LIKE (about limit / share-of-matches rows) and its
    count stops at `count_cap` distinct users, so no keyword counts a million rows.
    """
    listed = select(*LISTED_COLUMNS).order_by(users.c.id).limit(page.limit).offset(page.offset)
    if not keyword:
        rows = list(conn.execute(listed).all())
        if 0 < len(rows) < page.limit or (not rows and page.offset == 0):
            return rows, page.offset + len(rows)
        return rows, int(conn.scalar(select(func.count()).select_from(users)) or 0)
    in_range = username_terms.c.term.like(prefix_pattern(keyword), escape=LIKE_ESCAPE)
    probe = select(username_terms.c.user_id).where(in_range).limit(probe_limit).subquery()
    probed, probed_users = conn.execute(
        select(func.count(), func.count(distinct(probe.c.user_id))).select_from(probe)
    ).one()
    if not probed:
        return [], 0
    if probed < probe_limit:
        # The probe saw every entry of the keyword: its distinct users are the count.
        listed = listed.where(users.c.id.in_(select(username_terms.c.user_id).where(in_range)))
        return list(conn.execute(listed).all()), min(int(probed_users), count_cap)
    listed = listed.where(users.c.username.contains(keyword, autoescape=True))
    rows = list(conn.execute(listed).all())
    if 0 < len(rows) < page.limit or (not rows and page.offset == 0):
        # The last page is in hand, so the total is known without counting.
        return rows, page.offset + len(rows)
    distinct_users = (
        select(username_terms.c.user_id).where(in_range).distinct().limit(count_cap).subquery()
    )
    return rows, int(conn.scalar(select(func.count()).select_from(distinct_users)) or 0)
