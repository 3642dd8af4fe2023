"""The admin user search answers through the suffix index (services/username_terms.py)
exactly what a `LIKE '%keyword%'` scan of every username answers, on SQLite and MariaDB,
and every way a username is written keeps the index exact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.clock import utcnow
from chalicelib.db.tables import username_terms, users
from chalicelib.pagination import PageRequest
from chalicelib.services import accounts
from chalicelib.services.admin_users import PROBE_LIMIT, find_users
from tests import factories
from tests.conftest import put_json

# Usernames as imports and old sign-ups may have them: wildcards, the index's LIKE escape
# character (/), a backslash, Chinese, accents, fullwidth and astral characters, a
# keyword found twice in one name, and names of 1 and 20 characters (none equal to
# another in MariaDB's collation, where "jose" = "José" and "ss" = "ß" for the unique key).
NAMES = (
    "abc_def", "abcxdef", "100%sale", "1000sale", "a/b", "a//b", "zzz\\path",
    "王小明", "小明王", "José", "Jöse1", "ＷＡＮＧ", "wangwang", "Wang01", "ß", "ssx",
    "😀fan", "fan😀", "x", "y" * 20, "end_", "_start", "50%", "%%",
)  # fmt: skip
KEYWORDS = (
    "a", "A", "x", "_", "%", "/", "//", "\\", "%%", "_s", "0%", "c_d", "abc", "ANG", "wang",
    "wangwang", "王", "小明", "é", "e", "ß", "s", "Ｗ", "😀", "n😀", "y" * 20, "y" * 21,
    "abc_defg", "nobody", "/b", "a/", "\\p", "1",
)  # fmt: skip


def scan(conn: Any, keyword: str) -> tuple[list[str], int]:
    """What the search meant before the index: LIKE over every username."""
    condition = users.c.username.contains(keyword, autoescape=True)
    names = conn.scalars(select(users.c.username).where(condition).order_by(users.c.id)).all()
    count = conn.scalar(select(func.count()).select_from(users).where(condition))
    return list(names), int(count or 0)


@pytest.fixture
def named(db: Any) -> None:
    joined = utcnow() - timedelta(days=1)
    with db.begin() as conn:
        for name in NAMES:
            factories.user(conn, date_joined=joined, username=name)


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize("probe_limit", [PROBE_LIMIT, 1], ids=["rare", "common"])
def test_the_index_finds_what_the_like_scan_finds(
    db: Any, named: None, keyword: str, probe_limit: int
) -> None:
    with db.connect() as conn:
        expected_names, expected_count = scan(conn, keyword)

        # every match on one page, and the same one page at a time; through the index
        # (a rare keyword) and, with a probe of 1, as a common keyword is found
        rows, count = find_users(
            conn, keyword=keyword, page=PageRequest(1, 100), probe_limit=probe_limit
        )
        paged: list[str] = []
        counts: set[int] = set()
        for number in range(1, 30):
            page_rows, page_count = find_users(
                conn, keyword=keyword, page=PageRequest(number, 2), probe_limit=probe_limit
            )
            paged += [row.username for row in page_rows]
            counts.add(page_count)
            if not page_rows:
                break

    assert [row.username for row in rows] == expected_names
    assert count == expected_count
    assert paged == expected_names
    assert counts == {expected_count}


def test_a_count_beyond_the_cap_is_the_cap(db: Any, named: None) -> None:
    with db.connect() as conn:
        first_two = scan(conn, "a")[0][:2]
        _, everyone = scan(conn, "a")
        rows, capped = find_users(conn, keyword="a", page=PageRequest(1, 2), count_cap=3)
        _, below = find_users(conn, keyword="a", page=PageRequest(1, 2), count_cap=everyone)

    assert everyone > 3
    assert [row.username for row in rows] == first_two
    assert (capped, below) == (3, everyone)


def test_a_signup_a_staff_rename_and_the_index_agree(
    client: Any, db: Any, make_user: Any, make_staff: Any, auth_headers: Any
) -> None:
    root_headers = auth_headers(make_user("root_0001", is_staff=True, is_superuser=True))
    ops = make_staff("ops_0001")
    with db.begin() as conn:
        signed_up = accounts.register(conn, username="newcomer_1", password="correct-horse-1")

    renamed = put_json(
        client,
        f"/meiduo_admin/permission/admins/{ops.id}/",
        {"username": "renamed_ops", "email": "", "mobile": None, "groups": []},
        headers=root_headers,
    )

    assert renamed.status_code == 200
    with db.connect() as conn:
        terms = {
            user_id: sorted(
                conn.scalars(
                    select(username_terms.c.term).where(username_terms.c.user_id == user_id)
                )
            )
            for user_id in (ops.id, signed_up.id)
        }
        assert find_users(conn, keyword="ops_0", page=PageRequest(1, 10)) == ([], 0)
        assert [
            r.username for r in find_users(conn, keyword="d_op", page=PageRequest(1, 10))[0]
        ] == ["renamed_ops"]
    assert terms == {
        ops.id: sorted("renamed_ops"[i:] for i in range(len("renamed_ops"))),
        signed_up.id: sorted("newcomer_1"[i:] for i in range(len("newcomer_1"))),
    }


def test_the_bulk_generator_and_the_demo_seed_index_every_username(
    database_url: str, db: Any
) -> None:
    from devtools import demo, generate
    from tests.functional.catalog.conftest import detach_categories

    try:
        generate.generate(users=40, skus=5, orders=5, seed=3)
        demo.seed()
    finally:
        detach_categories()

    with db.connect() as conn:
        stored = {(row.term, row.user_id) for row in conn.execute(select(username_terms)).all()}
        expected = {
            (term, row.id)
            for row in conn.execute(select(users.c.id, users.c.username)).all()
            for term in [row.username[i:] for i in range(len(row.username))]
        }
    assert stored == expected
    assert len({user_id for _, user_id in stored}) >= 40


def test_find_users_needs_a_keyword(db: Any) -> None:
    with db.connect() as conn, pytest.raises(ValueError, match="list_users"):
        find_users(conn, keyword="", page=PageRequest(1, 10))
