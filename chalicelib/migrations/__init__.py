"""The Alembic migrations, shipped inside the package so they can run on AWS.

Chalice ships app.py, chalicelib/ and vendor/ only: a top-level migrations/ folder
and alembic.ini would never reach Lambda. `upgrade_to_head()` is what the `migrate`
Lambda function and `manage.py migrate` both call; it needs no alembic.ini (the
repository's alembic.ini points at this folder for the `alembic` command line).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.migration import MigrationContext

    from chalicelib.db.engine import build_engine

    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_to_head(database_url: str) -> tuple[str | None, str | None]:
    """Upgrade the database to the newest revision; (revision before, revision after).

    Running it again when the database is at head changes nothing.
    """
    from alembic import command

    from chalicelib.db.engine import build_engine

    before = current_revision(database_url)
    engine = build_engine(database_url)
    try:
        # env.py migrates on this connection instead of building its own engine
        # from DATABASE_URL, so the URL passed here is the one migrated.
        # A connection, not a transaction: env.py opens the migration's transaction (on
        # SQLite it switches foreign key enforcement off first, outside of it).
        with engine.connect() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    return before, current_revision(database_url)
