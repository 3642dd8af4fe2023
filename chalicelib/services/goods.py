"""The catalogue as the console manages it: SPUs, specifications and their options, brands,
channels, and the category lists the console's forms pick from.

Rules kept here:

- Brands, SPUs, specifications and options are deleted softly (`is_deleted`): order
  history keeps pointing at them, and the console no longer shows them (lists, pickers
  and `{id}` routes treat them as gone: 404). What only deleted rows still use can be
  deleted too.
- Deleting what a live row still uses is refused with 409 `in_use` and changes nothing: a
  brand with a live SPU, an SPU with a live SKU, a specification or an option a live SKU
  has chosen. Deleting an SPU or a specification takes what hangs from it along
  (specifications and options), so nothing live is ever left under something deleted.
- A row that would point at something missing or deleted is a 400 naming the field.
- Every list is a fixed number of queries however long the page (names are joined).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Row

from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import (
    brands,
    categories,
    channel_groups,
    channels,
    content_types,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
)
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.pagination import Listing, PageRequest, listing, page_of
from chalicelib.richtext import sanitize_html
from chalicelib.services import images
from chalicelib.services.catalog import home_changes

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.adapters.storage import Storage
    from chalicelib.uploads import ImageUpload

LIVE_SKU = skus.c.is_deleted.is_(False)
LIVE_SPU = spus.c.is_deleted.is_(False)
LIVE_SPEC = spu_specs.c.is_deleted.is_(False)
LIVE_OPTION = spec_options.c.is_deleted.is_(False)
LIVE_BRAND = brands.c.is_deleted.is_(False)


def in_use(detail: str) -> Conflict:
    return Conflict(detail, code="in_use")


@functools.cache
def _by_id(query: Callable[[], Any], table: Any) -> Select[Any]:
    """A detail's statement: the query's row whose `table.c.id` is the bound `id`. Built
    once per query function, values bound at execution."""
    return cast("Select[Any]", query().where(table.c.id == bindparam("id", type_=Integer)))


def _exists(conn: Connection, query: Any) -> bool:
    return conn.execute(query.limit(1)).first() is not None


# --- categories -----------------------------------------------------------------------


def first_level_categories(conn: Connection) -> list[Any]:
    return list(conn.execute(_first_level_categories()).all())


@functools.cache
def _first_level_categories() -> Select[Any]:
    return (
        select(categories.c.id, categories.c.name)
        .where(categories.c.parent_id.is_(None))
        .order_by(categories.c.sort_order, categories.c.id)
    )


def child_categories(conn: Connection, category_id: int) -> list[Any]:
    """The children of a category (404 for an unknown one; [] for a third-level one):
    one statement, the category's row outer-joined to its children."""
    rows = conn.execute(_children_of(), {"category_id": category_id}).all()
    if not rows:
        raise NotFound("No such category.")
    return [row for row in rows if row.id is not None]


@functools.cache
def _children_of() -> Select[Any]:
    parent, child = categories.alias("parent"), categories.alias("child")
    return (
        select(child.c.id, child.c.name)
        .select_from(parent.outerjoin(child, child.c.parent_id == parent.c.id))
        .where(parent.c.id == bindparam("category_id", type_=Integer))
        .order_by(child.c.sort_order, child.c.id)
    )


def third_level_categories(conn: Connection) -> list[Any]:
    """The categories three levels down, where SPUs and SKUs are filed, in tree order."""
    return list(conn.execute(_third_level_categories()).all())


@functools.cache
def _third_level_categories() -> Select[Any]:
    level2, level1 = categories.alias("level2"), categories.alias("level1")
    return (
        select(categories.c.id, categories.c.name)
        .join(level2, level2.c.id == categories.c.parent_id)
        .join(level1, level1.c.id == level2.c.parent_id)
        .where(level1.c.parent_id.is_(None))
        .order_by(
            level1.c.sort_order,
            level1.c.id,
            level2.c.sort_order,
            level2.c.id,
            categories.c.sort_order,
            categories.c.id,
        )
    )


def category_path(conn: Connection, category_id: int) -> tuple[int, int, int]:
    """The first-, second- and third-level ids down to a third-level category."""
    path = [category_id]
    while len(path) <= 3:
        parent = conn.scalar(select(categories.c.parent_id).where(categories.c.id == path[0]))
        if parent is None:
            break
        path.insert(0, parent)
    if len(path) != 3:
        raise ValidationError("Choose a third-level category.", field="category_id")
    return path[0], path[1], path[2]


# --- SPUs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpuFields:
    name: str
    brand_id: int
    category1_id: int
    category2_id: int
    category3_id: int
    desc_detail: str  # HTML as the editor sent it; sanitized when written
    desc_pack: str
    desc_service: str


def _spu_select() -> Any:
    """SPUs with their brand's name and the sales and comments of their SKUs (one query).

    The SKU totals are correlated subqueries on skus(spu_id), summed for the SPUs listed
    only: a derived table grouped every SKU of the shop for each page or detail."""

    def total(column: Any) -> Any:
        return (
            select(func.coalesce(func.sum(column), 0))
            .where(skus.c.spu_id == spus.c.id)
            .scalar_subquery()
        )

    return (
        select(
            spus.c.id,
            spus.c.name,
            spus.c.brand_id,
            brands.c.name.label("brand"),
            spus.c.category1_id,
            spus.c.category2_id,
            spus.c.category3_id,
            spus.c.desc_detail,
            spus.c.desc_pack,
            spus.c.desc_service,
            total(skus.c.sales).label("sales"),
            total(skus.c.comments).label("comments"),
        )
        .select_from(spus.outerjoin(brands, brands.c.id == spus.c.brand_id))
        .where(LIVE_SPU)
    )


def spu_names(conn: Connection) -> list[Any]:
    return list(conn.execute(_spu_names()))


@functools.cache
def _spu_names() -> Select[Any]:
    return select(spus.c.id, spus.c.name).where(LIVE_SPU).order_by(spus.c.id)


def page_spus(conn: Connection, *, keyword: str, page: PageRequest) -> tuple[list[Any], int]:
    if not keyword:
        return page_of(conn, _spus_listing(), page)
    return page_of(conn, _spus_matching(spus.c.name.contains(keyword, autoescape=True)), page)


def _spus_matching(condition: Any) -> Listing:
    # Counted without the joins: the brand is an outer join, the totals one value per SPU.
    return listing(
        _spu_select().where(condition).order_by(spus.c.id),
        counted=select(func.count()).select_from(spus).where(LIVE_SPU, condition),
    )


@functools.cache
def _spus_listing() -> Listing:
    return _spus_matching(LIVE_SPU)


def get_spu(conn: Connection, spu_id: int) -> Any:
    row = conn.execute(_spu_select().where(spus.c.id == spu_id)).first()
    if row is None:
        raise NotFound("No such SPU.")
    return row


def create_spu(conn: Connection, fields: SpuFields) -> Any:
    _check_spu_fields(conn, fields)
    spu_id = insert_id(
        conn.execute(spus.insert().values(**_spu_values(fields), create_time=utcnow()))
    )
    return get_spu(conn, spu_id)


def update_spu(conn: Connection, redis: Redis, spu_id: int, fields: SpuFields) -> Any:
    """Replace an SPU's fields. Its SKUs follow it to its new third-level category."""
    _lock_live(conn, spus, spu_id, "No such SPU.")
    _check_spu_fields(conn, fields)
    conn.execute(update(spus).where(spus.c.id == spu_id).values(**_spu_values(fields)))
    moved = conn.execute(
        update(skus)
        .where(skus.c.spu_id == spu_id, skus.c.category_id != fields.category3_id)
        .values(category_id=fields.category3_id, update_time=utcnow())
    )
    if moved.rowcount:  # the home page's floors are by category
        home_changes(conn, redis)
    return get_spu(conn, spu_id)


def delete_spu(conn: Connection, spu_id: int) -> None:
    """Delete an SPU with its specifications and options; 409 while a live SKU has it."""
    _lock_live(conn, spus, spu_id, "No such SPU.")
    if _exists(conn, select(skus.c.id).where(skus.c.spu_id == spu_id, LIVE_SKU)):
        raise in_use("A SKU that is not deleted belongs to this SPU.")
    spec_ids = select(spu_specs.c.id).where(spu_specs.c.spu_id == spu_id).scalar_subquery()
    conn.execute(
        update(spec_options)
        .where(spec_options.c.spec_id.in_(spec_ids), LIVE_OPTION)
        .values(is_deleted=True)
    )
    conn.execute(
        update(spu_specs).where(spu_specs.c.spu_id == spu_id, LIVE_SPEC).values(is_deleted=True)
    )
    conn.execute(update(spus).where(spus.c.id == spu_id).values(is_deleted=True))


def _spu_values(fields: SpuFields) -> dict[str, Any]:
    return {
        "name": fields.name,
        "brand_id": fields.brand_id,
        "category1_id": fields.category1_id,
        "category2_id": fields.category2_id,
        "category3_id": fields.category3_id,
        "desc_detail": sanitize_html(fields.desc_detail),
        "desc_pack": sanitize_html(fields.desc_pack),
        "desc_service": sanitize_html(fields.desc_service),
    }


def _check_spu_fields(conn: Connection, fields: SpuFields) -> None:
    """The brand is live, and category1 > category2 > category3 is a path down the tree."""
    errors: dict[str, list[str]] = {}
    # Locked: a concurrent delete of the brand waits for this unit, then sees this SPU.
    brand = select(brands.c.id).where(brands.c.id == fields.brand_id, LIVE_BRAND)
    if not _exists(conn, brand.with_for_update()):
        errors["brand_id"] = [f"No brand has the id {fields.brand_id}."]
    wanted = {fields.category1_id, fields.category2_id, fields.category3_id}
    parents = dict(
        conn.execute(
            select(categories.c.id, categories.c.parent_id).where(categories.c.id.in_(wanted))
        ).all()
    )
    path = (
        ("category1_id", fields.category1_id, None, "a first-level category"),
        ("category2_id", fields.category2_id, fields.category1_id, "a child of category1_id"),
        ("category3_id", fields.category3_id, fields.category2_id, "a child of category2_id"),
    )
    for field, category_id, parent_id, what in path:
        if category_id not in parents or parents[category_id] != parent_id:
            errors[field] = [f"Choose {what}."]
            break
    if errors:
        raise ValidationError(errors)


def _lock_live(conn: Connection, table: Any, row_id: int, missing: str) -> Row[Any]:
    """Lock a live (not deleted) row for this unit and return it, or 404."""
    found = conn.execute(
        select(table).where(table.c.id == row_id, table.c.is_deleted.is_(False)).with_for_update()
    ).first()
    if found is None:
        raise NotFound(missing)
    return found


def live_spu_category(conn: Connection, spu_id: int, *, lock: bool = False) -> int | None:
    """A live SPU's third-level category id; None for an unknown or deleted SPU. Locked,
    a concurrent delete of the SPU waits for this unit (and then sees its SKU)."""
    query = select(spus.c.category3_id).where(spus.c.id == spu_id, LIVE_SPU)
    return conn.scalar(query.with_for_update() if lock else query)


# --- specifications -------------------------------------------------------------------


def _spec_select() -> Any:
    return (
        select(spu_specs.c.id, spu_specs.c.name, spu_specs.c.spu_id, spus.c.name.label("spu"))
        .join(spus, spus.c.id == spu_specs.c.spu_id)
        .where(LIVE_SPEC)
    )


def page_specs(conn: Connection, page: PageRequest) -> tuple[list[Any], int]:
    return page_of(conn, _specs_listing(), page)


@functools.cache
def _specs_listing() -> Listing:
    # Counted without the join: every spec has its SPU (spu_id NOT NULL, a foreign key).
    return listing(
        _spec_select().order_by(spu_specs.c.id),
        counted=select(func.count()).select_from(spu_specs).where(LIVE_SPEC),
    )


def spec_names(conn: Connection) -> list[Any]:
    return list(conn.execute(_spec_names()).all())


@functools.cache
def _spec_names() -> Select[Any]:
    return cast("Select[Any]", _spec_select().order_by(spu_specs.c.id))


def get_spec(conn: Connection, spec_id: int) -> Any:
    row = conn.execute(_by_id(_spec_select, spu_specs), {"id": spec_id}).first()
    if row is None:
        raise NotFound("No such specification.")
    return row


def specs_with_options(conn: Connection, spu_id: int) -> list[dict[str, Any]]:
    """A live SPU's live specifications, each with its live options: one statement, the
    SPU outer-joined to its specs and their options (no row: no such SPU)."""
    rows = conn.execute(_specs_and_options(), {"spu_id": spu_id}).all()
    if not rows:
        raise NotFound("No such SPU.")
    specs: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.id is None:
            continue  # an SPU without specifications
        spec = specs.setdefault(
            row.id,
            {"id": row.id, "name": row.name, "spu_id": row.spu_id, "spu": row.spu, "options": []},
        )
        if row.option_id is not None:
            spec["options"].append({"id": row.option_id, "value": row.option_value})
    return list(specs.values())


@functools.cache
def _specs_and_options() -> Select[Any]:
    return (
        select(
            spu_specs.c.id,
            spu_specs.c.name,
            spus.c.id.label("spu_id"),
            spus.c.name.label("spu"),
            spec_options.c.id.label("option_id"),
            spec_options.c.value.label("option_value"),
        )
        .select_from(
            spus.outerjoin(spu_specs, and_(spu_specs.c.spu_id == spus.c.id, LIVE_SPEC)).outerjoin(
                spec_options, and_(spec_options.c.spec_id == spu_specs.c.id, LIVE_OPTION)
            )
        )
        .where(spus.c.id == bindparam("spu_id", type_=Integer), LIVE_SPU)
        .order_by(spu_specs.c.id, spec_options.c.id)
    )


def create_spec(conn: Connection, *, name: str, spu_id: int) -> Any:
    _check_spec_fields(conn, name=name, spu_id=spu_id, spec_id=None)
    return get_spec(conn, add_spec(conn, spu_id, name))


def add_spec(conn: Connection, spu_id: int, name: str) -> int:
    return insert_id(conn.execute(spu_specs.insert().values(spu_id=spu_id, name=name)))


def update_spec(conn: Connection, spec_id: int, *, name: str, spu_id: int) -> Any:
    """Rename a specification or move it to another SPU (409 while a live SKU uses it)."""
    current = _lock_live(conn, spu_specs, spec_id, "No such specification.").spu_id
    _check_spec_fields(conn, name=name, spu_id=spu_id, spec_id=spec_id)
    if current != spu_id:
        _lock_options_of(conn, spec_id)
    if current != spu_id and _spec_used(conn, spec_id):
        raise in_use("A SKU that is not deleted uses an option of this specification.")
    conn.execute(
        update(spu_specs).where(spu_specs.c.id == spec_id).values(name=name, spu_id=spu_id)
    )
    return get_spec(conn, spec_id)


def delete_spec(conn: Connection, spec_id: int) -> None:
    """Delete a specification and its options; 409 while a live SKU uses one of them."""
    _lock_live(conn, spu_specs, spec_id, "No such specification.")
    _lock_options_of(conn, spec_id)
    if _spec_used(conn, spec_id):
        raise in_use("A SKU that is not deleted uses an option of this specification.")
    conn.execute(
        update(spec_options).where(spec_options.c.spec_id == spec_id).values(is_deleted=True)
    )
    conn.execute(update(spu_specs).where(spu_specs.c.id == spec_id).values(is_deleted=True))


def _lock_options_of(conn: Connection, spec_id: int) -> None:
    """Lock the specification's options: a SKU write choosing one of them (which locks the
    options it chooses) finishes first, so the usage check that follows sees it."""
    conn.execute(
        select(spec_options.c.id).where(spec_options.c.spec_id == spec_id).with_for_update()
    ).all()


def _spec_used(conn: Connection, spec_id: int) -> bool:
    return _exists(
        conn,
        select(literal(1))
        .select_from(sku_spec_options.join(skus, skus.c.id == sku_spec_options.c.sku_id))
        .where(sku_spec_options.c.spec_id == spec_id, LIVE_SKU),
    )


def _check_spec_fields(conn: Connection, *, name: str, spu_id: int, spec_id: int | None) -> None:
    # Locked: writes of the SPU's specifications queue on its row, so the name check
    # (READ COMMITTED) sees a specification written meanwhile.
    if live_spu_category(conn, spu_id, lock=True) is None:
        raise ValidationError(f"No SPU has the id {spu_id}.", field="spu_id")
    same_name = select(spu_specs.c.id).where(
        spu_specs.c.spu_id == spu_id, spu_specs.c.name == name, LIVE_SPEC
    )
    if spec_id is not None:
        same_name = same_name.where(spu_specs.c.id != spec_id)
    if _exists(conn, same_name):
        raise ValidationError("This SPU already has a specification of this name.", field="name")


# --- options --------------------------------------------------------------------------


def _option_select() -> Any:
    return (
        select(
            spec_options.c.id,
            spec_options.c.value,
            spec_options.c.spec_id,
            spu_specs.c.name.label("spec"),
        )
        .join(spu_specs, spu_specs.c.id == spec_options.c.spec_id)
        .where(LIVE_OPTION)
    )


def page_options(conn: Connection, page: PageRequest) -> tuple[list[Any], int]:
    return page_of(conn, _options_listing(), page)


@functools.cache
def _options_listing() -> Listing:
    # Counted without the join: every option has its spec (spec_id NOT NULL, a foreign key).
    return listing(
        _option_select().order_by(spec_options.c.id),
        counted=select(func.count()).select_from(spec_options).where(LIVE_OPTION),
    )


def get_option(conn: Connection, option_id: int) -> Any:
    row = conn.execute(_by_id(_option_select, spec_options), {"id": option_id}).first()
    if row is None:
        raise NotFound("No such option.")
    return row


def create_option(conn: Connection, *, value: str, spec_id: int) -> Any:
    _check_option_fields(conn, value=value, spec_id=spec_id, option_id=None)
    return get_option(conn, add_option(conn, spec_id, value))


def add_option(conn: Connection, spec_id: int, value: str) -> int:
    return insert_id(conn.execute(spec_options.insert().values(spec_id=spec_id, value=value)))


def update_option(conn: Connection, option_id: int, *, value: str, spec_id: int) -> Any:
    """Change an option's value, or move it to another specification (409 while used)."""
    current = _lock_live(conn, spec_options, option_id, "No such option.").spec_id
    _check_option_fields(conn, value=value, spec_id=spec_id, option_id=option_id)
    if current != spec_id and _option_used(conn, option_id):
        raise in_use("A SKU that is not deleted uses this option.")
    conn.execute(
        update(spec_options)
        .where(spec_options.c.id == option_id)
        .values(value=value, spec_id=spec_id)
    )
    return get_option(conn, option_id)


def delete_option(conn: Connection, option_id: int) -> None:
    _lock_live(conn, spec_options, option_id, "No such option.")
    if _option_used(conn, option_id):
        raise in_use("A SKU that is not deleted uses this option.")
    conn.execute(update(spec_options).where(spec_options.c.id == option_id).values(is_deleted=True))


def _option_used(conn: Connection, option_id: int) -> bool:
    return _exists(
        conn,
        select(literal(1))
        .select_from(sku_spec_options.join(skus, skus.c.id == sku_spec_options.c.sku_id))
        .where(sku_spec_options.c.option_id == option_id, LIVE_SKU),
    )


def _check_option_fields(
    conn: Connection, *, value: str, spec_id: int, option_id: int | None
) -> None:
    # Locked: writes of the specification's options queue on its row, so the value check
    # (READ COMMITTED) sees an option written meanwhile.
    live_spec = select(spu_specs.c.id).where(spu_specs.c.id == spec_id, LIVE_SPEC)
    if not _exists(conn, live_spec.with_for_update()):
        raise ValidationError(f"No specification has the id {spec_id}.", field="spec_id")
    same_value = select(spec_options.c.id).where(
        spec_options.c.spec_id == spec_id, spec_options.c.value == value, LIVE_OPTION
    )
    if option_id is not None:
        same_value = same_value.where(spec_options.c.id != option_id)
    if _exists(conn, same_value):
        raise ValidationError("This specification already has this option.", field="value")


# --- brands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    id: int
    name: str
    logo: str | None  # storage file id
    first_letter: str


BRAND_COLUMNS = (brands.c.id, brands.c.name, brands.c.logo, brands.c.first_letter)


def _brand(row: Any) -> Brand:
    return Brand(row.id, row.name, row.logo, row.first_letter)


def page_brands(conn: Connection, page: PageRequest) -> tuple[list[Brand], int]:
    rows, count = page_of(conn, _brands_listing(), page)
    return [_brand(row) for row in rows], count


def _brand_select() -> Any:
    return select(*BRAND_COLUMNS).where(LIVE_BRAND)


@functools.cache
def _brands_listing() -> Listing:
    return listing(_brand_select().order_by(brands.c.id))


def brand_names(conn: Connection) -> list[Any]:
    return list(conn.execute(_brand_names()))


@functools.cache
def _brand_names() -> Select[Any]:
    return select(brands.c.id, brands.c.name).where(LIVE_BRAND).order_by(brands.c.id)


def get_brand(conn: Connection, brand_id: int) -> Brand:
    row = conn.execute(_by_id(_brand_select, brands), {"id": brand_id}).first()
    if row is None:
        raise NotFound("No such brand.")
    return _brand(row)


def create_brand(
    conn: Connection, storage: Storage, *, name: str, first_letter: str, logo: ImageUpload
) -> Brand:
    """Check the name, store the logo (deleted again if the brand is not written), then
    the brand."""
    _check_brand_name(conn, name, brand_id=None)
    file_id = images.store_upload(conn, storage, logo)
    brand_id = insert_id(
        conn.execute(
            brands.insert().values(
                name=name, first_letter=first_letter, logo=file_id, create_time=utcnow()
            )
        )
    )
    return get_brand(conn, brand_id)


def update_brand(
    conn: Connection,
    storage: Storage,
    brand_id: int,
    *,
    name: str,
    first_letter: str,
    logo: ImageUpload | None,
) -> Brand:
    """Rename a brand; a new logo replaces the old, whose file is deleted after the commit."""
    file_id = images.store_upload(conn, storage, logo) if logo is not None else None
    current = _lock_live(conn, brands, brand_id, "No such brand.")
    _check_brand_name(conn, name, brand_id=brand_id)
    values: dict[str, Any] = {"name": name, "first_letter": first_letter}
    if file_id is not None:
        values["logo"] = file_id
    conn.execute(update(brands).where(brands.c.id == brand_id).values(**values))
    if file_id is not None:
        images.release_catalogue_file(conn, storage, current.logo)
    return get_brand(conn, brand_id)


def delete_brand(conn: Connection, brand_id: int) -> None:
    """Delete a brand (its logo is kept with it, for history); 409 while a live SPU has it."""
    _lock_live(conn, brands, brand_id, "No such brand.")
    if _exists(conn, select(spus.c.id).where(spus.c.brand_id == brand_id, LIVE_SPU)):
        raise in_use("An SPU that is not deleted has this brand.")
    conn.execute(update(brands).where(brands.c.id == brand_id).values(is_deleted=True))


def _check_brand_name(conn: Connection, name: str, *, brand_id: int | None) -> None:
    """400 on `name` when a live brand has it. Names are unique among live brands only (a
    deleted brand keeps its name), so no unique key can hold it: brand writes queue on
    the brand content type's row, and the check (READ COMMITTED) sees what the one before
    wrote."""
    conn.execute(
        select(content_types.c.id).where(content_types.c.model == "brand").with_for_update()
    )
    taken = select(brands.c.id).where(brands.c.name == name, LIVE_BRAND)
    if brand_id is not None:
        taken = taken.where(brands.c.id != brand_id)
    if _exists(conn, taken):
        raise ValidationError("A brand with this name already exists.", field="name")


# --- channels -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelFields:
    group_id: int
    category_id: int  # first-level
    url: str
    sequence: int


def channel_groups_list(conn: Connection) -> list[Any]:
    return list(conn.execute(_channel_groups()))


@functools.cache
def _channel_groups() -> Select[Any]:
    return select(channel_groups.c.id, channel_groups.c.name).order_by(channel_groups.c.id)


def _channel_select() -> Any:
    return (
        select(
            channels.c.id,
            channels.c.group_id,
            channel_groups.c.name.label("group"),
            channels.c.category_id,
            categories.c.name.label("category"),
            channels.c.url,
            channels.c.sequence,
        )
        .join(channel_groups, channel_groups.c.id == channels.c.group_id)
        .join(categories, categories.c.id == channels.c.category_id)
    )


def page_channels(conn: Connection, page: PageRequest) -> tuple[list[Any], int]:
    return page_of(conn, _channels_listing(), page)


@functools.cache
def _channels_listing() -> Listing:
    # Counted without the joins: group_id and category_id are NOT NULL foreign keys.
    return listing(
        _channel_select().order_by(channels.c.id),
        counted=select(func.count()).select_from(channels),
    )


def get_channel(conn: Connection, channel_id: int) -> Any:
    row = conn.execute(_by_id(_channel_select, channels), {"id": channel_id}).first()
    if row is None:
        raise NotFound("No such channel.")
    return row


def create_channel(conn: Connection, fields: ChannelFields) -> Any:
    _check_channel_fields(conn, fields, channel_id=None)
    channel_id = insert_id(conn.execute(channels.insert().values(**fields.__dict__)))
    return get_channel(conn, channel_id)


def update_channel(conn: Connection, channel_id: int, fields: ChannelFields) -> Any:
    found = conn.execute(
        select(channels.c.id).where(channels.c.id == channel_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound("No such channel.")
    _check_channel_fields(conn, fields, channel_id=channel_id)
    conn.execute(update(channels).where(channels.c.id == channel_id).values(**fields.__dict__))
    return get_channel(conn, channel_id)


def delete_channel(conn: Connection, channel_id: int) -> None:
    """A channel is only a menu entry: it is deleted outright."""
    if conn.execute(channels.delete().where(channels.c.id == channel_id)).rowcount == 0:
        raise NotFound("No such channel.")


def _check_channel_fields(
    conn: Connection, fields: ChannelFields, *, channel_id: int | None
) -> None:
    errors: dict[str, list[str]] = {}
    group = select(channel_groups.c.id).where(channel_groups.c.id == fields.group_id)
    if not _exists(conn, group):
        errors["group_id"] = [f"No channel group has the id {fields.group_id}."]
    # Locked: channel writes for a category queue on its row, so the check below (READ
    # COMMITTED) sees a channel written meanwhile.
    top = select(categories.c.id).where(
        categories.c.id == fields.category_id, categories.c.parent_id.is_(None)
    )
    if not _exists(conn, top.with_for_update()):
        errors["category_id"] = ["Choose a first-level category."]
    else:
        taken = select(channels.c.id).where(channels.c.category_id == fields.category_id)
        if channel_id is not None:
            taken = taken.where(channels.c.id != channel_id)
        if _exists(conn, taken):
            errors["category_id"] = ["This category already has a channel."]
    if errors:
        raise ValidationError(errors)
