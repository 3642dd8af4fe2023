"""refunds: money given back through Alipay or the wallet, each refund recorded once

refund_no is ours and Alipay's out_request_no (unique): asking Alipay again with it
never refunds twice. A refund is pending until Alipay's answer is known (the
reconcile job settles one whose answer was lost), then succeeded or failed.
(actor, idempotency_key) is unique: a staff member's retried request replays.
Refunding needs a permission of its own, refund_order, on the order content type.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import chalicelib.db.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("refund_no", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", ID, nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("create_time", chalicelib.db.tables.UtcDateTime(), nullable=False),
        sa.Column("update_time", chalicelib.db.tables.UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_refunds_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "actor", "idempotency_key", name=op.f("uq_refunds_actor_idempotency_key")
        ),
        sa.UniqueConstraint("refund_no", name=op.f("uq_refunds_refund_no")),
        sqlite_autoincrement=True,  # ids never handed out twice (0010)
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refunds_status_update_time"), ["status", "update_time"], unique=False
        )

    content_type = _order_content_type()
    op.execute(
        _permissions.insert().values(
            name="退款订单", codename=REFUND_PERMISSION, content_type_id=content_type
        )
    )


REFUND_PERMISSION = "refund_order"
_permissions = sa.table(
    "permissions",
    sa.column("id"),
    sa.column("name"),
    sa.column("codename"),
    sa.column("content_type_id"),
)


def _order_content_type() -> int:
    content_types = sa.table("content_types", sa.column("id"), sa.column("model"))
    found = op.get_bind().scalar(
        sa.select(content_types.c.id).where(content_types.c.model == "order")
    )
    assert found is not None, "0009 makes the order content type"
    return int(found)


def downgrade() -> None:
    permission = sa.select(_permissions.c.id).where(_permissions.c.codename == REFUND_PERMISSION)
    for link in ("group_permissions", "user_permissions"):
        table = sa.table(link, sa.column("permission_id"))
        op.execute(table.delete().where(table.c.permission_id.in_(permission.scalar_subquery())))
    op.execute(_permissions.delete().where(_permissions.c.codename == REFUND_PERMISSION))
    op.drop_table("refunds")
