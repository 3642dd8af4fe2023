"""User management for staff (meiduo admin): finding users by part of their username.

Creating users goes through accounts.register, like every sign-up: same validation of
duplicates, password hashed.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Integer, Select, bindparam, func, select
from sqlalchemy.engine import Row

from chalicelib.db.tables import username_terms, users
from chalicelib.pagination import PageRequest
from chalicelib.services import statistics
from chalicelib.services.username_terms import LIKE_ESCAPE, prefix_pattern

# What staff see of a user: never the password hash, nor the token version.
LISTED_COLUMNS = (users.c.id, users.c.username, users.c.mobile, users.c.email)


# Distinct users read from the index to tell a rare keyword from a common one (~1 ms).
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
) -> tuple[list[Row[*tuple[Any, ...]]], int]:
    """One page of users whose username contains `keyword` (not empty: list_users lists
    everyone), oldest account first, and how many match in all: exact up to
    `count_cap`, that number when more match. Rows have LISTED_COLUMNS (a page found
    through the index also carries the probe's count, `probed`).

    `%` and `_` in the keyword are literal characters (LIKE wildcards are escaped), so
    `a_b` finds only usernames containing "a_b". Both SQLite and MariaDB compare
    case-insensitively here (ASCII LIKE / the _ci collation).

    Through the suffix index (services/username_terms.py), where `username LIKE '%kw%'`
    is `term LIKE 'kw%'`, a range of the primary key. One statement reads the range's
    first `probe_limit` distinct users, counts them and lists the page among them: fewer
    than `probe_limit` means they are all the matches (a rare keyword), and the page and
    its exact count are in hand. A common keyword's page is then found by reading users
    in id order with the LIKE (about limit / share-of-matches rows) and its count stops
    at `count_cap` distinct users, so no keyword counts a million rows.
    """
    if not keyword:
        raise ValueError("find_users needs a keyword; list_users lists everyone")
    listed = select(*LISTED_COLUMNS).order_by(users.c.id).limit(page.limit).offset(page.offset)
    pattern = prefix_pattern(keyword)
    found = conn.execute(
        _page_through_index(),
        {
            "pattern": pattern,
            "probe_limit": probe_limit,
            "limit": page.limit,
            "offset": page.offset,
        },
    ).all()
    if found and found[0].probed < probe_limit:
        return list(found), min(int(found[0].probed), count_cap)
    in_range = username_terms.c.term.like(pattern, escape=LIKE_ESCAPE)
    listed = listed.where(users.c.username.contains(keyword, autoescape=True))
    if not found:
        if page.offset == 0:
            return [], 0  # the range is empty
        # Past the probe's users: a rare keyword asked for a page past its last, or a
        # common one's later page. The count tells which (and is the count).
        matched = _count_matches(conn, in_range, count_cap)
        if matched < probe_limit:
            return [], matched
        return list(conn.execute(listed).all()), matched
    rows = list(conn.execute(listed).all())
    if 0 < len(rows) < page.limit or (not rows and page.offset == 0):
        # The last page is in hand, so the total is known without counting.
        return rows, page.offset + len(rows)
    return rows, _count_matches(conn, in_range, count_cap)


def list_users(
    conn: Connection, *, page: PageRequest, now: datetime, tz: ZoneInfo
) -> tuple[list[Row[*tuple[Any, ...]]], int]:
    """One page of all users, oldest account first, and how many there are: the
    dashboard's total as of `now` (statistics.user_count: exact, users are never deleted;
    one cheap statement where counting the table read every row)."""
    rows = list(conn.execute(_all_users_page(), {"limit": page.limit, "offset": page.offset}))
    if 0 < len(rows) < page.limit or (not rows and page.offset == 0):
        return rows, page.offset + len(rows)  # the last page is in hand
    return rows, statistics.user_count(conn, now=now, tz=tz).count


@functools.cache
def _all_users_page() -> Select[Any]:
    return (
        select(*LISTED_COLUMNS)
        .order_by(users.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


@functools.cache
def _page_through_index() -> Select[Any]:
    """The page's users among the first `probe_limit` distinct users of the `pattern`'s
    index range, each row with how many the probe found (`probed`, counted before the
    page's LIMIT). Built once per process, values bound at execution."""
    in_range = username_terms.c.term.like(bindparam("pattern"), escape=LIKE_ESCAPE)
    probed = (
        select(username_terms.c.user_id)
        .where(in_range)
        .distinct()
        .limit(bindparam("probe_limit", type_=Integer))
        .subquery()
    )
    page_ids = (
        select(probed.c.user_id, func.count().over().label("probed"))
        .order_by(probed.c.user_id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    return (
        select(*LISTED_COLUMNS, page_ids.c.probed)
        .join_from(page_ids, users, users.c.id == page_ids.c.user_id)
        .order_by(users.c.id)
    )


def _count_matches(conn: Connection, in_range: ColumnElement[bool], count_cap: int) -> int:
    """Distinct users of the keyword's index range, at most `count_cap`."""
    distinct_users = (
        select(username_terms.c.user_id).where(in_range).distinct().limit(count_cap).subquery()
    )
    return int(conn.scalar(select(func.count()).select_from(distinct_users)) or 0)
