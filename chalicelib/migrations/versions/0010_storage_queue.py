"""Ids never reused on SQLite; the file-deletion queue keeps its last error

- Every table with an integer id becomes AUTOINCREMENT on SQLite: without it SQLite
  hands out the highest rowid again once that row is deleted (a purged image's id went
  to the next image). MySQL/MariaDB never reuse AUTO_INCREMENT values: nothing to do.
  SQLite cannot ALTER that, so each table is copied (batch mode; env.py turns foreign
  key enforcement off around SQLite migrations and checks the keys before committing).
- pending_file_deletions.last_error / last_attempt_time: a deletion stays queued until
  the storage server confirmed it, and the operator sees why it has not happened yet.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import chalicelib.db.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    with op.batch_alter_table(
        "pending_file_deletions",
        recreate="always" if _sqlite() else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.add_column(sa.Column("last_error", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("last_attempt_time", chalicelib.db.tables.UtcDateTime(), nullable=True)
        )
    if not _sqlite():
        return
    # Every table with an integer id at this revision (later tables are created with
    # sqlite_autoincrement by their own migrations, from tables._pk()).
    inspector = sa.inspect(op.get_bind())
    id_tables = [
        table
        for table in sorted(inspector.get_table_names())
        if inspector.get_pk_constraint(table)["constrained_columns"] == ["id"]
    ]
    for table in id_tables:
        if table == "pending_file_deletions":
            continue
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    with op.batch_alter_table("pending_file_deletions") as batch:
        batch.drop_column("last_attempt_time")
        batch.drop_column("last_error")
    # AUTOINCREMENT stays on SQLite: handing ids out again is never wanted.
