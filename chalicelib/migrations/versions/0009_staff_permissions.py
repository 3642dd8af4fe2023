"""staff permissions: content types, permissions, groups and who holds what

Django's model: every admin resource has a content type and four permissions
(view_/add_/change_/delete_<model>), created here as data; staff hold permissions
directly (user_permissions) or through groups (user_groups, group_permissions).
Superusers hold every permission without rows. Existing staff who are not superusers
hold nothing until a superuser gives them a group or permissions.

The data below is frozen with this revision (a migration must not change when the code
does); tests/integration/test_staff_permissions_migration.py checks it equals
services/permissions.py's BUILTIN_CONTENT_TYPES.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

CONTENT_TYPES = (
    ("user", "用户"),
    ("sku", "商品SKU"),
    ("spu", "商品SPU"),
    ("spec", "规格"),
    ("option", "规格选项"),
    ("brand", "品牌"),
    ("channel", "频道"),
    ("image", "商品图片"),
    ("order", "订单"),
    ("permission", "权限"),
    ("group", "用户组"),
    ("admin", "管理员"),
    ("statistics", "数据统计"),
)
ACTIONS = (("view", "查看"), ("add", "添加"), ("change", "修改"), ("delete", "删除"))


def upgrade() -> None:
    content_types = op.create_table(
        "content_types",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_types")),
        sa.UniqueConstraint("model", name=op.f("uq_content_types_model")),
    )
    permissions = op.create_table(
        "permissions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("codename", sa.String(length=100), nullable=False),
        sa.Column("content_type_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["content_type_id"],
            ["content_types.id"],
            name=op.f("fk_permissions_content_type_id_content_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint("codename", name=op.f("uq_permissions_codename")),
    )
    op.create_index(
        op.f("ix_permissions_content_type_id"), "permissions", ["content_type_id"], unique=False
    )
    op.create_table(
        "groups",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    _link_table("group_permissions", ("group_id", "groups"), ("permission_id", "permissions"))
    _link_table("user_groups", ("user_id", "users"), ("group_id", "groups"))
    _link_table("user_permissions", ("user_id", "users"), ("permission_id", "permissions"))

    op.bulk_insert(
        content_types,
        [
            {"id": n, "model": model, "name": name}
            for n, (model, name) in enumerate(CONTENT_TYPES, 1)
        ],
    )
    op.bulk_insert(
        permissions,
        [
            {
                "id": (type_id - 1) * len(ACTIONS) + position,
                "name": f"{verb}{name}",
                "codename": f"{action}_{model}",
                "content_type_id": type_id,
            }
            for type_id, (model, name) in enumerate(CONTENT_TYPES, 1)
            for position, (action, verb) in enumerate(ACTIONS, 1)
        ],
    )


def _link_table(table: str, left: tuple[str, str], right: tuple[str, str]) -> None:
    """A many-to-many table: both ids are its primary key; the second has its own index."""
    op.create_table(
        table,
        sa.Column(left[0], ID, autoincrement=False, nullable=False),
        sa.Column(right[0], ID, autoincrement=False, nullable=False),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
            )
            for column, target in (left, right)
        ),
        sa.PrimaryKeyConstraint(left[0], right[0], name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_{right[0]}"), table, [right[0]], unique=False)


def downgrade() -> None:
    for table in ("user_permissions", "user_groups", "group_permissions"):
        op.drop_table(table)
    op.drop_table("groups")
    op.drop_table("permissions")
    op.drop_table("content_types")
