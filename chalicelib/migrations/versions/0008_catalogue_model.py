"""The catalogue model of the meiduo console: brands, a three-level category path per SPU,
three descriptions, specifications and options per SPU, cost and market prices, soft
deletion, and channel groups with channels

Today's data moves with it, nothing lost:
- every leaf category above the third level gains a child of the same name down to the
  third level, and the SKUs and SPUs filed under the leaf move to that child (so does a
  category above the third level that has children and SPUs or SKUs filed under it);
- an SPU's category becomes its category3, and its path up the tree fills category1/2;
- an SPU's description becomes its detail description (packaging and service start empty);
- the name/value specs of an SPU's SKUs (sku_specs, dropped) become the SPU's
  specifications and options, and each SKU picks the option of its old value.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import chalicelib.db.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DEPTH = 3
ORDERINGS = ("price", "sales", "create_time", "comments")  # the ix_skus_*_is_launched indexes


def _pk(table: str) -> list[Any]:
    return [
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "brands",
        *_pk("brands"),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("logo", sa.String(length=255), nullable=True),
        sa.Column("first_letter", sa.String(length=1), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("create_time", chalicelib.db.tables.UtcDateTime(), nullable=False),
    )
    op.create_table(
        "channel_groups",
        *_pk("channel_groups"),
        sa.Column("name", sa.String(length=20), nullable=False),
    )
    op.create_table(
        "channels",
        *_pk("channels"),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("category_id", ID, nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_channels_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["channel_groups.id"], name=op.f("fk_channels_group_id_channel_groups")
        ),
    )
    op.create_index(op.f("ix_channels_group_id"), "channels", ["group_id"])

    with op.batch_alter_table("skus") as batch:
        batch.add_column(
            sa.Column("cost_price", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("market_price", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False))
        # The storefront's ordering indexes cover "on sale" (launched and not deleted), so
        # the unfiltered list still pages through the index alone.
        for column in ORDERINGS:
            batch.drop_index(f"ix_skus_{column}_is_launched")
            batch.create_index(
                f"ix_skus_{column}_is_launched", [column, "is_launched", "is_deleted"]
            )

    with op.batch_alter_table("spus") as batch:
        batch.add_column(sa.Column("brand_id", ID, nullable=True))
        batch.add_column(sa.Column("category1_id", ID, nullable=True))
        batch.add_column(sa.Column("category2_id", ID, nullable=True))
        batch.add_column(sa.Column("category3_id", ID, nullable=True))
        batch.add_column(sa.Column("desc_detail", sa.Text(), nullable=True))
        batch.add_column(sa.Column("desc_pack", sa.Text(), nullable=True))
        batch.add_column(sa.Column("desc_service", sa.Text(), nullable=True))
        batch.add_column(sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False))

    _move_to_three_levels(op.get_bind())

    with op.batch_alter_table("spus") as batch:
        batch.drop_constraint("fk_spus_category_id_categories", type_="foreignkey")
        batch.drop_index("ix_spus_category_id")
        batch.drop_column("category_id")
        batch.drop_column("desc")
        for name in ("category1_id", "category2_id", "category3_id"):
            batch.alter_column(name, existing_type=ID, nullable=False)
        for name in ("desc_detail", "desc_pack", "desc_service"):
            batch.alter_column(name, existing_type=sa.Text(), nullable=False)
        batch.create_foreign_key(op.f("fk_spus_brand_id_brands"), "brands", ["brand_id"], ["id"])
        for name in ("category1_id", "category2_id", "category3_id"):
            batch.create_foreign_key(
                op.f(f"fk_spus_{name}_categories"), "categories", [name], ["id"]
            )
        batch.create_index(op.f("ix_spus_brand_id"), ["brand_id"])
        batch.create_index(op.f("ix_spus_category3_id"), ["category3_id"])

    op.create_table(
        "spu_specs",
        *_pk("spu_specs"),
        sa.Column("spu_id", ID, nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["spu_id"], ["spus.id"], name=op.f("fk_spu_specs_spu_id_spus")),
    )
    op.create_index(op.f("ix_spu_specs_spu_id"), "spu_specs", ["spu_id"])
    op.create_table(
        "spec_options",
        *_pk("spec_options"),
        sa.Column("spec_id", ID, nullable=False),
        sa.Column("value", sa.String(length=50), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["spu_specs.id"], name=op.f("fk_spec_options_spec_id_spu_specs")
        ),
    )
    op.create_index(op.f("ix_spec_options_spec_id"), "spec_options", ["spec_id"])
    op.create_table(
        "sku_spec_options",
        *_pk("sku_spec_options"),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("spec_id", ID, nullable=False),
        sa.Column("option_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_sku_spec_options_sku_id_skus")
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["spu_specs.id"], name=op.f("fk_sku_spec_options_spec_id_spu_specs")
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["spec_options.id"],
            name=op.f("fk_sku_spec_options_option_id_spec_options"),
        ),
        sa.UniqueConstraint("sku_id", "spec_id", name=op.f("uq_sku_spec_options_sku_id_spec_id")),
    )
    op.create_index(op.f("ix_sku_spec_options_option_id"), "sku_spec_options", ["option_id"])
    _move_specs(op.get_bind())
    op.drop_table("sku_specs")


# Lightweight table handles for the data moves: the migration must not follow later
# changes to chalicelib.db.tables.
_categories = sa.table(
    "categories",
    sa.column("id"),
    sa.column("name"),
    sa.column("parent_id"),
    sa.column("sort_order"),
)
_spus = sa.table(
    "spus",
    sa.column("id"),
    sa.column("desc"),
    sa.column("category_id"),
    sa.column("category1_id"),
    sa.column("category2_id"),
    sa.column("category3_id"),
    sa.column("desc_detail"),
    sa.column("desc_pack"),
    sa.column("desc_service"),
)
_skus = sa.table("skus", sa.column("id"), sa.column("spu_id"), sa.column("category_id"))


def _move_to_three_levels(conn: sa.Connection) -> None:
    rows = {row.id: row for row in conn.execute(sa.select(_categories)).all()}
    parents = {row.id: row.parent_id for row in rows.values()}
    has_children = {row.parent_id for row in rows.values() if row.parent_id is not None}

    def depth(category_id: int) -> int:
        level, current = 1, parents[category_id]
        while current is not None:
            level, current = level + 1, parents[current]
        return level

    deepened: dict[int, int] = {}

    def third_level(category_id: int) -> int:
        """The third-level category that stands for `category_id`, made if it is missing."""
        if category_id in deepened:
            return deepened[category_id]
        level = depth(category_id)
        if level > DEPTH:
            raise RuntimeError(f"category {category_id} is {level} levels deep; at most {DEPTH}")
        current = category_id
        for _ in range(DEPTH - level):
            result = conn.execute(
                _categories.insert().values(
                    name=rows[category_id].name, parent_id=current, sort_order=0
                )
            )
            child = int(result.lastrowid)
            parents[child] = current
            current = child
        deepened[category_id] = current
        return current

    # Every leaf, and every category an SPU or a SKU is filed under: one above the third
    # level that has children (filed there before the children came) gets a same-named
    # child down to the third level too, and its SPUs and SKUs move there with it, so a
    # SKU's category stays its SPU's category3.
    filed = set(conn.scalars(sa.select(_spus.c.category_id).distinct()))
    filed |= set(conn.scalars(sa.select(_skus.c.category_id).distinct()))
    for category_id in sorted(set(rows) - has_children) + sorted(filed & has_children):
        third_level(category_id)
    # One statement per category, not per SPU: a big catalogue moves in seconds.
    for old, new in deepened.items():
        if old != new:
            conn.execute(_skus.update().where(_skus.c.category_id == old).values(category_id=new))
        category2 = parents[new]
        category1 = parents[category2]
        conn.execute(
            _spus.update()
            .where(_spus.c.category_id == old)
            .values(category1_id=category1, category2_id=category2, category3_id=new)
        )
    conn.execute(_spus.update().values(desc_detail=_spus.c.desc, desc_pack="", desc_service=""))


def _move_specs(conn: sa.Connection) -> None:
    sku_specs = sa.table(
        "sku_specs", sa.column("id"), sa.column("sku_id"), sa.column("name"), sa.column("value")
    )
    spu_specs = sa.table("spu_specs", sa.column("id"), sa.column("spu_id"), sa.column("name"))
    spec_options = sa.table(
        "spec_options", sa.column("id"), sa.column("spec_id"), sa.column("value")
    )
    sku_spec_options = sa.table(
        "sku_spec_options", sa.column("sku_id"), sa.column("spec_id"), sa.column("option_id")
    )
    rows = conn.execute(
        sa.select(_skus.c.spu_id, sku_specs.c.sku_id, sku_specs.c.name, sku_specs.c.value)
        .join(_skus, _skus.c.id == sku_specs.c.sku_id)
        .order_by(sku_specs.c.id)
    ).all()
    spec_ids: dict[tuple[int, str], int] = {}
    option_ids: dict[tuple[int, str], int] = {}
    picks = []
    for row in rows:
        spec_key = (row.spu_id, row.name)
        if spec_key not in spec_ids:
            result = conn.execute(spu_specs.insert().values(spu_id=row.spu_id, name=row.name))
            spec_ids[spec_key] = int(result.lastrowid)
        spec_id = spec_ids[spec_key]
        option_key = (spec_id, row.value)
        if option_key not in option_ids:
            result = conn.execute(spec_options.insert().values(spec_id=spec_id, value=row.value))
            option_ids[option_key] = int(result.lastrowid)
        picks.append(
            {"sku_id": row.sku_id, "spec_id": spec_id, "option_id": option_ids[option_key]}
        )
    if picks:
        conn.execute(sku_spec_options.insert(), picks)


def downgrade() -> None:
    """Back to one category and one description per SPU and name/value specs per SKU (the
    third-level categories the upgrade made stay)."""
    op.create_table(
        "sku_specs",
        *_pk("sku_specs"),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_sku_specs_sku_id_skus")),
        sa.UniqueConstraint("sku_id", "name", name=op.f("uq_sku_specs_sku_id_name")),
    )
    op.execute(
        "INSERT INTO sku_specs (sku_id, name, value) "
        "SELECT sku_spec_options.sku_id, spu_specs.name, spec_options.value "
        "FROM sku_spec_options "
        "JOIN spu_specs ON spu_specs.id = sku_spec_options.spec_id "
        "JOIN spec_options ON spec_options.id = sku_spec_options.option_id "
        "ORDER BY sku_spec_options.id"
    )
    op.drop_table("sku_spec_options")
    op.drop_table("spec_options")
    op.drop_table("spu_specs")
    with op.batch_alter_table("spus") as batch:
        batch.add_column(sa.Column("category_id", ID, nullable=True))
        batch.add_column(sa.Column("desc", sa.Text(), nullable=True))
    conn = op.get_bind()
    conn.execute(_spus.update().values(category_id=_spus.c.category3_id, desc=_spus.c.desc_detail))
    with op.batch_alter_table("spus") as batch:
        batch.drop_constraint(op.f("fk_spus_brand_id_brands"), type_="foreignkey")
        for name in ("category1_id", "category2_id", "category3_id"):
            batch.drop_constraint(op.f(f"fk_spus_{name}_categories"), type_="foreignkey")
        batch.drop_index(op.f("ix_spus_category3_id"))
        batch.drop_index(op.f("ix_spus_brand_id"))
        for name in (
            "brand_id",
            "category1_id",
            "category2_id",
            "category3_id",
            "desc_detail",
            "desc_pack",
            "desc_service",
            "is_deleted",
        ):
            batch.drop_column(name)
        batch.alter_column("category_id", existing_type=ID, nullable=False)
        batch.alter_column("desc", existing_type=sa.Text(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_spus_category_id_categories"), "categories", ["category_id"], ["id"]
        )
        batch.create_index(op.f("ix_spus_category_id"), ["category_id"])
    with op.batch_alter_table("skus") as batch:
        for column in ORDERINGS:
            batch.drop_index(f"ix_skus_{column}_is_launched")
            batch.create_index(f"ix_skus_{column}_is_launched", [column, "is_launched"])
        batch.drop_column("is_deleted")
        batch.drop_column("market_price")
        batch.drop_column("cost_price")
    op.drop_table("channels")
    op.drop_table("channel_groups")
    op.drop_table("brands")
