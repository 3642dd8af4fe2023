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
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,  # SQLite ALTERs via table copies
        compare_type=True,
    )
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Batch mode copies a table and drops the original: with foreign keys enforced, that
    DROP fails (or would delete) while rows reference it. The pragma only works outside a
    transaction, so it is sent on the driver's connection, before the migration's own."""
    if on and connection.in_transaction():
        connection.rollback()  # autobegun after the migration's commit: reads only
    if connection.in_transaction():
        raise RuntimeError("SQLite migrations need a connection outside a transaction")
    connection.connection.driver_connection.execute(  # type: ignore[union-attr]
        f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"
    )


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `manage.py migrate`")
run_migrations()
