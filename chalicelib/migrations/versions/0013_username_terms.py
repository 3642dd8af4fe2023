"""username_terms: every suffix of every username, behind GET /meiduo_admin/users/?keyword=

Creates the table and fills it from the users already there (chalicelib/services/
username_terms.py defines the terms), reading users in id order, USERS_PER_SLICE at a
time. About 10 rows per user (one per character of the username): at 1,000,000 users
expect ~10 M rows.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chalicelib.services.username_terms import index_users

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

USERS_PER_SLICE = 5000

users = sa.table("users", sa.column("id"), sa.column("username"))


def upgrade() -> None:
    op.create_table(
        "username_terms",
        sa.Column("term", sa.String(length=20), nullable=False),
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("term", "user_id", name=op.f("pk_username_terms")),
    )
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(users.c.id, users.c.username)
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(USERS_PER_SLICE)
        ).all()
        if not rows:
            break
        index_users(conn, [(row.id, row.username) for row in rows])
        last_id = rows[-1].id


def downgrade() -> None:
    op.drop_table("username_terms")
