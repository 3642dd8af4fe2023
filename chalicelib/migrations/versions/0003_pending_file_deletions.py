"""pending_file_deletions: stored files to delete after the commit that released them

Purging an image or replacing an avatar queues the old file in the same transaction
that removes the row; the file is deleted from storage after the commit, and a file
that could not be deleted then is retried by the retry-file-deletions job.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import chalicelib.db.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_file_deletions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("create_time", chalicelib.db.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_file_deletions")),
    )


def downgrade() -> None:
    op.drop_table("pending_file_deletions")
