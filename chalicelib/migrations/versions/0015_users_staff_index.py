"""users(is_staff, id) for the console's staff list

The staff list (GET /meiduo_admin/permission/admins/) reads staff users by id and counts
them. Without an index on is_staff both scanned every user: the list walked the primary
key until it had a page of staff, the count read the whole table (20,000 users: ~6 ms
of a 7 ms request; linear in the users, a million buyers for a handful of staff). With
it both are a range of the index's is_staff = 1 entries.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_is_staff_id", ["is_staff", "id"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_is_staff_id")
