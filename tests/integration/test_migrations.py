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


def test_every_integer_id_is_never_handed_out_twice(db: Any) -> None:
    """SQLite reuses the highest rowid once its row is deleted unless the table is
    AUTOINCREMENT; MariaDB's AUTO_INCREMENT never goes back. Every table with an integer
    id (tables._pk(), so tables added later too) must be one of those, as migrated."""
    from sqlalchemy import Integer, text

    id_tables = sorted(
        table.name
        for table in metadata.tables.values()
        if len(table.primary_key.columns) == 1
        and isinstance(table.primary_key.columns[0].type, Integer)
        and table.primary_key.columns[0].autoincrement is True
    )
    assert "sku_images" in id_tables and "users" in id_tables
    with db.connect() as conn:
        for name in id_tables:
            if conn.dialect.name == "sqlite":
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                    {"name": name},
                ).scalar_one()
                assert "PRIMARY KEY AUTOINCREMENT" in ddl, name
            else:
                ddl = conn.execute(text(f"SHOW CREATE TABLE `{name}`")).one()[1]
                assert "AUTO_INCREMENT" in ddl, name
