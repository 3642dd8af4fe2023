"""orders(create_time, order_id) for order lists newest first

The admin order list (and any list without a user or status) sorts every order by
(create_time DESC, order_id DESC): without an index in that order MariaDB read the whole
table and sorted it for each page (20,000 orders: ~13 ms of a 15 ms request, growing with
the table; bench/RESULTS.md, per_request). With it a page is a walk of the index's last
entries. Lists by user or status already have (user_id, create_time) and
(status, create_time), which InnoDB ends with the primary key.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_create_time_order_id", ["create_time", "order_id"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_create_time_order_id")
