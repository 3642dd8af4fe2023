"""The schema Alembic builds is exactly chalicelib.db.tables.metadata (on SQLite and MariaDB)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chalicelib.db.tables import metadata


def test_the_migrated_schema_equals_the_tables_module(db: Any) -> None:
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_migrations_are_one_linear_history() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tests.conftest import ROOT

    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))

    assert len(scripts.get_heads()) == 1
