"""Migration 0013 builds the username index of the users a shop already has."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, func, inspect, select

from chalicelib.db.tables import username_terms, users
from chalicelib.pagination import PageRequest
from chalicelib.services.admin_users import find_users
from chalicelib.services.username_terms import terms_of
from tests.integration.test_catalog_search_migration import database, migrate

__all__ = ["database"]  # the fixture: an empty database of its own

USER_COUNT = 5003  # more than one of the migration's 5,000-user slices


def test_upgrading_indexes_existing_users_and_downgrading_drops_the_index(database: str) -> None:
    migrate(database, "0012")
    engine = create_engine(database)
    joined = datetime(2024, 5, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                users.insert(),
                [
                    {"id": n, "username": f"u{n:05d}_王", "password": "!", "date_joined": joined}
                    for n in range(1, USER_COUNT + 1)
                ],
            )

        migrate(database, "head")

        with engine.begin() as conn:
            stored: dict[int, set[str]] = {}
            for row in conn.execute(select(username_terms)):
                stored.setdefault(row.user_id, set()).add(row.term)
            assert stored == {n: set(terms_of(f"u{n:05d}_王")) for n in range(1, USER_COUNT + 1)}
            rows, count = find_users(conn, keyword="5003_", page=PageRequest(1, 10))
            assert ([row.id for row in rows], count) == ([5003], 1)
            rows, count = find_users(conn, keyword="0_王", page=PageRequest(1, 10))
            assert count == len([n for n in range(1, USER_COUNT + 1) if n % 10 == 0])

        migrate(database, "0012", down=True)
        assert "username_terms" not in inspect(engine).get_table_names()
        with engine.begin() as conn:
            assert conn.scalar(select(func.count()).select_from(users)) == USER_COUNT
    finally:
        engine.dispose()
