"""sku_search_terms: the 2-character term index behind GET /search/

Creates the table and fills it from the SKUs already there, so an upgraded shop
searches its whole catalogue at once (chalicelib/services/search_terms.py defines the
terms; search.py reads them). SKUs are read in id order, 5,000 at a time; each slice's
terms are written in primary-key order. Roughly 50 rows per SKU: at 100,000 SKUs
expect ~5 M rows, ~180 MB on InnoDB and about a minute.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chalicelib.services.search_terms import index_skus

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SKUS_PER_SLICE = 5000

skus = sa.table("skus", sa.column("id"), sa.column("name"), sa.column("caption"))


def upgrade() -> None:
    op.create_table(
        "sku_search_terms",
        sa.Column("term", sa.String(length=2), nullable=False),
        sa.Column(
            "sku_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("term", "sku_id", name=op.f("pk_sku_search_terms")),
    )
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(skus.c.id, skus.c.name, skus.c.caption)
            .where(skus.c.id > last_id)
            .order_by(skus.c.id)
            .limit(SKUS_PER_SLICE)
        ).all()
        if not rows:
            break
        index_skus(conn, [(row.id, row.name, row.caption) for row in rows])
        last_id = rows[-1].id


def downgrade() -> None:
    op.drop_table("sku_search_terms")
