"""Alembic environment: migrates the database named by DATABASE_URL to chalicelib's metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from chalicelib import config as shop_config
from chalicelib.db.engine import build_engine, statement_timeout
from chalicelib.db.tables import metadata

target_metadata = metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = build_engine(shop_config.settings().database_url)
    try:
        with statement_timeout(None), engine.connect() as conn:  # no limit on a migration
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite ALTERs by copying a table and dropping the old one, which a foreign key
        # pointing at it refuses while enforcement is on; it can only be switched outside a
        # transaction (so the caller must not have begun one). The keys are checked once
        # the migrations are done.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        _configure_and_run(connection)
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migrations left rows with broken foreign keys: {broken[:5]}")


def _sqlite_pragma(connection: Connection, statement: str) -> None:
    connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `manage.py migrate`")
run_migrations()
