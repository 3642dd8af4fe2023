"""skus(<ordering column>, is_launched) for the storefront orderings

GET /skus/ without a category then finds a page's ids by walking the ordering's index
(the launch state is in it) instead of sorting every launched SKU, and deep pages skip
index entries instead of rows (bench/catalog/README.md). Category lists keep their
category index through an optimizer hint (services/catalog.py). An earlier try with
skus(is_launched, <column>) was dropped: with a boolean first column MariaDB
range-scanned those indexes for category lists and search.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ORDERING_COLUMNS = ("price", "sales", "create_time", "comments")


def upgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        for column in ORDERING_COLUMNS:
            batch_op.create_index(
                f"ix_skus_{column}_is_launched", [column, "is_launched"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        for column in ORDERING_COLUMNS:
            batch_op.drop_index(f"ix_skus_{column}_is_launched")
