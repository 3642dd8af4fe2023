"""Migration 0009 creates the content types and their permissions as the code lists them,
leaves existing staff with no permission (superusers keep everything), and goes back."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select

from chalicelib.db.tables import content_types, permissions, users
from chalicelib.services import permissions as permission_rules
from tests.conftest import ROOT
from tests.integration.test_catalog_search_migration import database, migrate

__all__ = ["database"]  # the fixture, imported for use here
REVISION = "0009"


def test_upgrading_creates_the_built_in_permissions_and_downgrading_drops_them(
    database: str,
) -> None:
    before = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_revision(REVISION)
    assert before is not None
    previous = str(before.down_revision)
    migrate(database, previous)
    engine = create_engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(
                users.insert(),
                [
                    {"username": name, "password": "!", "is_staff": True,
                     "is_superuser": superuser, "date_joined": datetime(2024, 5, 1, tzinfo=UTC)}
                    for name, superuser in (("boss_001", True), ("clerk_01", False))
                ],
            )  # fmt: skip

        migrate(database, "head")

        with engine.begin() as conn:
            types = conn.execute(
                select(content_types.c.model, content_types.c.name).order_by(content_types.c.id)
            ).all()
            rows = conn.execute(
                select(permissions.c.codename, permissions.c.name, content_types.c.model)
                .join(content_types)
                .order_by(permissions.c.id)
            ).all()
            assert [tuple(t) for t in types] == list(permission_rules.BUILTIN_CONTENT_TYPES)
            assert [
                {"codename": r.codename, "name": r.name, "model": r.model} for r in rows
            ] == permission_rules.builtin_permissions()
            assert not permission_rules.holds(conn, 2, "view_order")

        migrate(database, previous, down=True)
        tables = set(inspect(engine).get_table_names())
        assert not tables & {"content_types", "permissions", "groups", "user_groups"}
        with engine.begin() as conn:
            assert len(conn.execute(select(users.c.id)).all()) == 2
    finally:
        engine.dispose()
