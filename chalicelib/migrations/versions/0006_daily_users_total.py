"""daily_stats.users_total: users who had joined by the end of each shop day

total_count then reads the last final day's figure plus the users who joined since
(an index range on date_joined) instead of counting every user.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_stats") as batch:
        batch.add_column(sa.Column("users_total", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("daily_stats") as batch:
        batch.drop_column("users_total")
