"""SKUs as the console manages them (/meiduo_admin/skus/).

- A SKU is filed under its SPU's third-level category, and picks exactly one live option
  of each of its SPU's live specifications (sku_spec_options).
- The older form stays valid: without an SPU a new one is made in the category, and specs
  given as {name: value} are found by name on the SPU, or created (specification and
  option) as needed; the same rule then holds.
- Deleting a SKU is soft: it is unlaunched and marked deleted, so orders keep their lines
  and history; the console no longer shows it (lists, pickers, its {id} routes: 404).
- Every change drops the cached home page once it is committed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Integer, Select, bindparam, func, select, update

from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import categories, sku_spec_options, skus, spec_options, spu_specs, spus
from chalicelib.errors import NotFound, ValidationError
from chalicelib.pagination import Listing, PageRequest, listing, page_of
from chalicelib.services import goods, search_terms
from chalicelib.services.catalog import home_changes

if TYPE_CHECKING:
    from redis import Redis

# A choice of one option of one specification: (spec_id, option_id).
Choice = tuple[int, int]


@dataclass(frozen=True)
class SkuFields:
    name: str
    caption: str
    price: int  # fen
    cost_price: int | None  # fen; None: 0.00 for a new SKU, unchanged on an update
    market_price: int | None
    stock: int
    category_id: int
    spu_id: int | None  # None: a new SPU (create), the SKU's own (update)
    is_launched: bool
    specs: list[Choice] | dict[str, str]  # choices, or the older {name: value}


def _select() -> Any:
    return (
        select(
            skus.c.id,
            skus.c.name,
            skus.c.caption,
            skus.c.price,
            skus.c.cost_price,
            skus.c.market_price,
            skus.c.stock,
            skus.c.sales,
            categories.c.name.label("category"),
            skus.c.category_id,
            skus.c.spu_id,
            skus.c.is_launched,
        )
        .join(categories, categories.c.id == skus.c.category_id)
        .where(goods.LIVE_SKU)
    )


def sku_names(conn: Connection) -> list[Any]:
    """Every SKU that is not deleted (launched or not), by id."""
    return list(conn.execute(_sku_names()))


@functools.cache
def _sku_names() -> Select[Any]:
    return select(skus.c.id, skus.c.name).where(goods.LIVE_SKU).order_by(skus.c.id)


def page_skus(conn: Connection, *, keyword: str, page: PageRequest) -> tuple[list[Any], int]:
    """SKUs that are not deleted, launched or not, whose name contains the keyword, by id."""
    if not keyword:
        return page_of(conn, _skus_listing(), page)
    return page_of(conn, _skus_matching(skus.c.name.contains(keyword, autoescape=True)), page)


def _skus_matching(condition: Any) -> Listing:
    return listing(
        _select().where(condition).order_by(skus.c.id),
        counted=select(func.count()).select_from(skus).where(condition, goods.LIVE_SKU),
    )


@functools.cache
def _skus_listing() -> Listing:
    return _skus_matching(goods.LIVE_SKU)


def get_sku(conn: Connection, sku_id: int) -> dict[str, Any]:
    """A SKU with its choices, `specs: [(spec_id, option_id)]` by specification id."""
    statements = _sku_detail()
    row = conn.execute(statements[0], {"sku_id": sku_id}).first()
    if row is None:
        raise NotFound("No such SKU.")
    choices = conn.execute(statements[1], {"sku_id": sku_id}).all()
    return {**row._mapping, "specs": [(spec_id, option_id) for spec_id, option_id in choices]}


@functools.cache
def _sku_detail() -> tuple[Select[Any], Select[Any]]:
    """The SKU's row and its (spec_id, option_id) choices, the `sku_id` bound."""
    sku_id = bindparam("sku_id", type_=Integer)
    return (
        _select().where(skus.c.id == sku_id),
        select(sku_spec_options.c.spec_id, sku_spec_options.c.option_id)
        .where(sku_spec_options.c.sku_id == sku_id)
        .order_by(sku_spec_options.c.spec_id),
    )


def create_sku(conn: Connection, redis: Redis, fields: SkuFields) -> dict[str, Any]:
    """A new SKU in a third-level category; without spu_id a new SPU is made for it."""
    spu_id = _spu_for(conn, fields, keep=None)
    choices = _choices(conn, spu_id, fields.specs)
    now = utcnow()
    sku_id = insert_id(
        conn.execute(
            skus.insert().values(
                spu_id=spu_id,
                category_id=fields.category_id,
                name=fields.name,
                caption=fields.caption,
                price=fields.price,
                cost_price=fields.cost_price or 0,
                market_price=fields.market_price or 0,
                stock=fields.stock,
                is_launched=fields.is_launched,
                create_time=now,
                update_time=now,
            )
        )
    )
    search_terms.index_new_sku(conn, sku_id, fields.name, fields.caption)
    _replace_choices(conn, sku_id, choices)
    home_changes(conn, redis)
    return get_sku(conn, sku_id)


def update_sku(conn: Connection, redis: Redis, sku_id: int, fields: SkuFields) -> dict[str, Any]:
    """Replace a SKU's editable fields and choices (sales, comments and images stay)."""
    current = conn.execute(
        select(skus.c.id, skus.c.spu_id, skus.c.name, skus.c.caption)
        .where(skus.c.id == sku_id, goods.LIVE_SKU)
        .with_for_update()
    ).first()
    if current is None:
        raise NotFound("No such SKU.")
    spu_id = _spu_for(conn, fields, keep=current.spu_id)
    choices = _choices(conn, spu_id, fields.specs)
    values: dict[str, Any] = {
        "spu_id": spu_id,
        "category_id": fields.category_id,
        "name": fields.name,
        "caption": fields.caption,
        "price": fields.price,
        "stock": fields.stock,
        "is_launched": fields.is_launched,
        "update_time": utcnow(),
    }
    if fields.cost_price is not None:
        values["cost_price"] = fields.cost_price
    if fields.market_price is not None:
        values["market_price"] = fields.market_price
    conn.execute(update(skus).where(skus.c.id == sku_id).values(**values))
    search_terms.reindex_sku(
        conn, sku_id, old=(current.name, current.caption), new=(fields.name, fields.caption)
    )
    _replace_choices(conn, sku_id, choices)
    home_changes(conn, redis)
    return get_sku(conn, sku_id)


def delete_sku(conn: Connection, redis: Redis, sku_id: int) -> None:
    """Take a SKU off the shelves and out of the console. The row stays: orders keep their
    lines and history. Its search terms stay too: search checks the launch state."""
    result = conn.execute(
        update(skus)
        .where(skus.c.id == sku_id, goods.LIVE_SKU)
        .values(is_launched=False, is_deleted=True, update_time=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound("No such SKU.")
    home_changes(conn, redis)


def _spu_for(conn: Connection, fields: SkuFields, keep: int | None) -> int:
    """The SPU the SKU belongs to: the given one (filed under the SKU's category), the one
    it had, or a new SPU named after the SKU on the category's path."""
    spu_id = fields.spu_id if fields.spu_id is not None else keep
    if spu_id is None:
        category1, category2, category3 = goods.category_path(conn, fields.category_id)
        return insert_id(
            conn.execute(
                spus.insert().values(
                    name=fields.name[:50],
                    category1_id=category1,
                    category2_id=category2,
                    category3_id=category3,
                    desc_detail="",
                    desc_pack="",
                    desc_service="",
                    create_time=utcnow(),
                )
            )
        )
    spu_category = goods.live_spu_category(conn, spu_id, lock=True)
    if spu_category != fields.category_id:
        # A live SPU's category is a third-level one; a SKU's category otherwise is
        # checked only to say which field is wrong.
        goods.category_path(conn, fields.category_id)  # 400 unless a third-level category
        if spu_category is None:
            raise ValidationError(f"No SPU has the id {spu_id}.", field="spu_id")
        raise ValidationError("The SPU is filed under another category.", field="category_id")
    return spu_id


def _choices(conn: Connection, spu_id: int, specs: list[Choice] | dict[str, str]) -> list[Choice]:
    """The SKU's choices, checked: exactly one live option of each live specification of the
    SPU. {name: value} is first resolved on the SPU, creating what it lacks."""
    if isinstance(specs, dict):
        specs = _resolve_names(conn, spu_id, specs)
    live_specs = set(
        conn.scalars(select(spu_specs.c.id).where(spu_specs.c.spu_id == spu_id, goods.LIVE_SPEC))
    )
    given = [spec_id for spec_id, _ in specs]
    if len(set(given)) != len(given):
        raise ValidationError("Choose one option per specification.", field="specs")
    if set(given) != live_specs:
        raise ValidationError(
            f"Choose one option of each of the SPU's specifications: {sorted(live_specs)}.",
            field="specs",
        )
    if not specs:
        return []
    # Locked: a specification or option deleted meanwhile cannot end up chosen.
    options = dict(
        conn.execute(
            select(spec_options.c.id, spec_options.c.spec_id)
            .where(spec_options.c.id.in_([option_id for _, option_id in specs]), goods.LIVE_OPTION)
            .with_for_update()
        ).all()
    )
    for spec_id, option_id in specs:
        if options.get(option_id) != spec_id:
            raise ValidationError(
                f"Option {option_id} is not an option of specification {spec_id}.", field="specs"
            )
    return sorted(specs)


def _resolve_names(conn: Connection, spu_id: int, specs: dict[str, str]) -> list[Choice]:
    """{name: value} as choices on the SPU, adding missing specifications and options."""
    known = dict(
        conn.execute(
            select(spu_specs.c.name, spu_specs.c.id).where(
                spu_specs.c.spu_id == spu_id, goods.LIVE_SPEC
            )
        ).all()
    )
    choices = []
    for name, value in specs.items():
        spec_id = known.get(name) or goods.add_spec(conn, spu_id, name)
        option_id = conn.scalar(
            select(spec_options.c.id).where(
                spec_options.c.spec_id == spec_id, spec_options.c.value == value, goods.LIVE_OPTION
            )
        ) or goods.add_option(conn, spec_id, value)
        choices.append((spec_id, option_id))
    return choices


def _replace_choices(conn: Connection, sku_id: int, choices: list[Choice]) -> None:
    conn.execute(sku_spec_options.delete().where(sku_spec_options.c.sku_id == sku_id))
    if choices:
        conn.execute(
            sku_spec_options.insert(),
            [
                {"sku_id": sku_id, "spec_id": spec_id, "option_id": option_id}
                for spec_id, option_id in choices
            ],
        )
