"""statistics indexes on orders

orders(create_time, user_id) replaces orders(create_time); orders(paid_at, payment_amount) is new.

Distinct order users per day and paid orders/GMV per day become index-only range scans.
The new (create_time, user_id) index serves every query the old (create_time) one did.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_create_time_user_id"), ["create_time", "user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_orders_paid_at_payment_amount"),
            ["paid_at", "payment_amount"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_orders_create_time"))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_create_time"), ["create_time"], unique=False)
        batch_op.drop_index(batch_op.f("ix_orders_paid_at_payment_amount"))
        batch_op.drop_index(batch_op.f("ix_orders_create_time_user_id"))
