"""The username index behind the admin user search: every suffix of every username.

`username LIKE '%kw%'` holds exactly when some suffix of the username matches
`kw%`: the leading `%` of the scan is nothing but "at some position". So each user's
username is stored once per starting position (`wang00042` gives "wang00042",
"ang00042", ..., "2"; 20 rows at most, ~10 for the generated usernames), in a table
whose primary key (term, user_id) is an index on the suffix, and the search becomes a
prefix range of that index, `term LIKE 'kw%'`: the same LIKE, in the same collation
(the table inherits the database default, as users.username does), so it matches what
the scan matched, no more and no less, on MariaDB and SQLite alike; no candidate has to
be checked against the users row, and the count is exact (a username containing the
keyword twice has two suffixes in the range: the count is of distinct users).

Rows are deleted by (term, user_id), the primary key: no second index. Users are never
deleted by the app. Suffixes of one username all differ in length, so none is `=` to another (INSERT
IGNORE still guards the primary key, as search_terms does).

Every write of a username goes through `index_new_user` or `reindex_user` in the same
transaction (accounts.register, which admin creation, the demo seed and test factories
use; staff.update_staff); bulk loads use `index_users` (migration 0013) or `terms_of`
(devtools/generate.py). A missing row hides a user from the search, hence the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_

from chalicelib.db.engine import insert_ignoring_duplicates, insert_in_batches
from chalicelib.db.tables import username_terms

LIKE_ESCAPE = "/"


def terms_of(username: str) -> list[str]:
    """Every non-empty suffix of the username, longest first."""
    return [username[i:] for i in range(len(username))]


def prefix_pattern(keyword: str) -> str:
    """A LIKE pattern for terms starting with `keyword`, its `%`, `_` and `/` literal."""
    escaped = (
        keyword.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return escaped + "%"


def index_new_user(conn: Connection, user_id: int, username: str) -> None:
    """Add a new user's terms (same transaction as its INSERT)."""
    terms = terms_of(username)
    if terms:
        conn.execute(
            insert_ignoring_duplicates(conn, username_terms),
            [{"term": term, "user_id": user_id} for term in terms],
        )


def reindex_user(conn: Connection, user_id: int, *, old: str, new: str) -> None:
    """Replace a user's terms after the username changed (same transaction)."""
    if old == new:
        return
    conn.execute(
        username_terms.delete().where(
            and_(username_terms.c.user_id == user_id, username_terms.c.term.in_(terms_of(old)))
        )
    )
    index_new_user(conn, user_id, new)


def index_users(
    conn: Connection, found: Iterable[tuple[int, str]], *, batch_rows: int = 10_000
) -> int:
    """Add the terms of many users (id, username), e.g. when the index is first built.
    Returns how many rows were offered."""
    rows = (
        {"term": term, "user_id": user_id} for user_id, name in found for term in terms_of(name)
    )
    return insert_in_batches(conn, username_terms, rows, batch_rows=batch_rows)
