"""catalogue list indexes on skus

skus(is_launched, price|sales|create_time|comments): GET /skus/ without a category
reads its first page from an index instead of sorting every launched SKU
(bench/catalog).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ORDERING_COLUMNS = ("price", "sales", "create_time", "comments")


def upgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        for column in ORDERING_COLUMNS:
            batch_op.create_index(
                batch_op.f(f"ix_skus_is_launched_{column}"), ["is_launched", column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        for column in ORDERING_COLUMNS:
            batch_op.drop_index(batch_op.f(f"ix_skus_is_launched_{column}"))
