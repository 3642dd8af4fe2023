"""long descriptions: an SPU's three rich-text descriptions are MEDIUMTEXT on MySQL

They may hold 100,000 characters (API), up to 400 KB of UTF-8 and more once sanitized;
TEXT stops at 65,535 bytes, so a long description was a 500 (data too long) on MariaDB.
SQLite's TEXT has no such bound: nothing changes there.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = ("desc_detail", "desc_pack", "desc_service")


def _alter(to: sa.types.TypeEngine[str], from_: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for column in COLUMNS:
        op.alter_column("spus", column, type_=to, existing_type=from_, existing_nullable=False)


def upgrade() -> None:
    from sqlalchemy.dialects import mysql

    _alter(mysql.MEDIUMTEXT(), sa.Text())


def downgrade() -> None:
    from sqlalchemy.dialects import mysql

    _alter(sa.Text(), mysql.MEDIUMTEXT())
