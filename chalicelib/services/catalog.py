"""The catalogue: categories, SKU lists and detail, comments, the home page, admin edits.

Storefront reads only ever see launched SKUs: an unlaunched SKU is "not found" on its
detail page and absent from every list, search, the home page and browsing history.

Rows are returned as plain values (prices in fen, images as storage file ids); the API
layer turns them into JSON with yuan strings and absolute URLs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select, true, update
from sqlalchemy.engine import Row

from chalicelib.clock import shop_today, utcnow
from chalicelib.db.engine import after_commit, insert_id
from chalicelib.db.tables import (
    banners,
    categories,
    order_lines,
    orders,
    sku_images,
    sku_specs,
    skus,
    spus,
    users,
)
from chalicelib.errors import NotFound, ValidationError
from chalicelib.pagination import PageRequest
from chalicelib.services import search_terms

if TYPE_CHECKING:
    from redis import Redis

# GET /skus/ orderings (docs/openapi.yaml). Every ordering ends with the id, so that pages of
# equal prices or sales never repeat or skip a SKU.
ORDERINGS = {
    "price": (skus.c.price.asc(), skus.c.id.asc()),
    "-price": (skus.c.price.desc(), skus.c.id.desc()),
    "-sales": (skus.c.sales.desc(), skus.c.id.desc()),
    "-create_time": (skus.c.create_time.desc(), skus.c.id.desc()),
    "-comments": (skus.c.comments.desc(), skus.c.id.desc()),
}

# MySQL only: a category's SKUs are found through skus(category_id, is_launched) and
# sorted, never by walking an ordering index (tables.py) hoping to meet the category's
# rows early: 冰箱 are the dearest SKUs, so `ORDER BY price LIMIT 10` walked ~50,000
# cheaper SKUs first (11 ms -> 100+ ms at 100,000 SKUs; bench/catalog/README.md).
CATEGORY_LIST_HINT = (
    "IGNORE INDEX FOR ORDER BY (ix_skus_price_is_launched, ix_skus_sales_is_launched, "
    "ix_skus_create_time_is_launched, ix_skus_comments_is_launched)"
)

# The list item every storefront list shows (`SkuItem` in docs/openapi.yaml).
SKU_ITEM_COLUMNS = (
    skus.c.id,
    skus.c.name,
    skus.c.price,
    skus.c.default_image,
    skus.c.sales,
    skus.c.comments,
)

# One hash per shop day (YYYY-MM-DD): field str(category_id) -> list views. The hourly
# statistics roll-up copies it into daily_category_views; the TTL only cleans up.
CATEGORY_VIEWS_KEY = "stats:category-views:{day}"
CATEGORY_VIEWS_TTL_SECONDS = 40 * 86400

HOME_CACHE_KEY = "catalog:home"
# Admin changes drop the cache at once; the TTL only bounds how stale a page can get
# when something changes the catalogue without going through this module.
HOME_CACHE_TTL_SECONDS = 300
HOME_FLOOR_SIZE = 8


@dataclass(frozen=True)
class SkuItem:
    id: int
    name: str
    price: int  # fen
    image: str | None  # storage file id
    sales: int
    comments: int


def sku_item(row: Any) -> SkuItem:
    return SkuItem(row.id, row.name, row.price, row.default_image, row.sales, row.comments)


# --- categories -----------------------------------------------------------------------


def category_tree(conn: Connection) -> list[dict[str, Any]]:
    """Top-level categories with their children, in the shop's sort order."""
    rows = conn.execute(
        select(categories.c.id, categories.c.name, categories.c.parent_id).order_by(
            categories.c.sort_order, categories.c.id
        )
    ).all()
    children: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(
                {"id": row.id, "name": row.name, "children": []}
            )
    return [
        {"id": row.id, "name": row.name, "children": children.get(row.id, [])}
        for row in rows
        if row.parent_id is None
    ]


def leaf_categories(conn: Connection) -> list[Any]:
    """Categories SKUs can be filed under: those without children."""
    parent = categories.alias("child")
    has_children = select(parent.c.id).where(parent.c.parent_id == categories.c.id).exists()
    return list(
        conn.execute(
            select(categories.c.id, categories.c.name)
            .where(~has_children)
            .order_by(categories.c.sort_order, categories.c.id)
        ).all()
    )


def _category_and_children(conn: Connection, category_id: int) -> list[int]:
    """A category's own id and its children's: listing 大家电 shows 冰箱, 洗衣机 ..."""
    found = conn.scalar(select(categories.c.id).where(categories.c.id == category_id))
    if found is None:
        raise NotFound("No such category.")
    children = conn.scalars(select(categories.c.id).where(categories.c.parent_id == category_id))
    return [category_id, *children]


def record_category_view(redis: Redis, category_id: int, tz: ZoneInfo) -> None:
    """Count one view of a category list for today (a SHOP_TIMEZONE day).

    The admin's goods_day_views report reads these hashes; they outlive the 30 days a
    report can show and then expire on their own.
    """
    key = CATEGORY_VIEWS_KEY.format(day=shop_today(tz).isoformat())
    pipe = redis.pipeline(transaction=False)
    pipe.hincrby(key, str(category_id), 1)
    pipe.expire(key, CATEGORY_VIEWS_TTL_SECONDS)
    pipe.execute()


# --- lists and detail -----------------------------------------------------------------


def list_skus(
    conn: Connection, *, category_id: int | None, ordering: str, page: PageRequest
) -> tuple[list[SkuItem], int]:
    """One page of launched SKUs (of a category and its children), and how many there are."""
    condition: ColumnElement[bool] = skus.c.is_launched == true()
    if category_id is not None:
        condition = and_(
            condition, skus.c.category_id.in_(_category_and_children(conn, category_id))
        )
    count = int(conn.scalar(select(func.count()).select_from(skus).where(condition)) or 0)
    if page.offset >= count:
        return [], count
    # The page's ids first, then their rows: without a category the ids come from the
    # ordering's index alone, so OFFSET skips index entries, not whole rows.
    page_ids = (
        select(skus.c.id)
        .where(condition)
        .order_by(*ORDERINGS[ordering])
        .offset(page.offset)
        .limit(page.limit)
    )
    if category_id is not None:
        page_ids = page_ids.with_hint(skus, CATEGORY_LIST_HINT, dialect_name="mysql")
    on_page = page_ids.subquery("page_ids")
    rows = conn.execute(
        select(*SKU_ITEM_COLUMNS)
        .join_from(on_page, skus, skus.c.id == on_page.c.id)
        .order_by(*ORDERINGS[ordering])
    ).all()
    return [sku_item(row) for row in rows], count


def launched_sku(conn: Connection, sku_id: int) -> Row[Any]:
    row = conn.execute(select(skus).where(skus.c.id == sku_id, skus.c.is_launched)).first()
    if row is None:
        raise NotFound("No such product.")
    return row


def launched_items(conn: Connection, sku_ids: list[int]) -> list[SkuItem]:
    """The launched ones of these SKUs, in the order given."""
    if not sku_ids:
        return []
    rows = conn.execute(
        select(*SKU_ITEM_COLUMNS).where(skus.c.id.in_(sku_ids), skus.c.is_launched)
    ).all()
    by_id = {row.id: sku_item(row) for row in rows}
    return [by_id[sku_id] for sku_id in sku_ids if sku_id in by_id]


def sku_detail(conn: Connection, sku_id: int) -> dict[str, Any]:
    """A launched SKU with its category, SPU, specs, visible images and launched variants."""
    sku = launched_sku(conn, sku_id)
    category = conn.execute(
        select(categories.c.id, categories.c.name).where(categories.c.id == sku.category_id)
    ).one()
    spu = conn.execute(
        select(spus.c.id, spus.c.name, spus.c.desc).where(spus.c.id == sku.spu_id)
    ).one()
    variant_ids = list(
        conn.scalars(
            select(skus.c.id)
            .where(skus.c.spu_id == sku.spu_id, skus.c.is_launched)
            .order_by(skus.c.id)
        )
    )
    specs = specs_of(conn, variant_ids)
    images = list(
        conn.scalars(
            select(sku_images.c.image)
            .where(sku_images.c.sku_id == sku_id, ~sku_images.c.is_hidden)
            .order_by(sku_images.c.id)
        )
    )
    if not images and sku.default_image:
        images = [sku.default_image]
    return {
        "sku": sku,
        "category": category,
        "spu": spu,
        "specs": specs.get(sku_id, {}),
        "images": images,
        "variants": [{"id": v, "specs": specs.get(v, {})} for v in variant_ids],
    }


def specs_of(conn: Connection, sku_ids: list[int]) -> dict[int, dict[str, str]]:
    """sku id -> {spec name: value}, in one query."""
    found: dict[int, dict[str, str]] = {}
    if not sku_ids:
        return found
    rows = conn.execute(
        select(sku_specs.c.sku_id, sku_specs.c.name, sku_specs.c.value)
        .where(sku_specs.c.sku_id.in_(sku_ids))
        .order_by(sku_specs.c.sku_id, sku_specs.c.id)
    ).all()
    for row in rows:
        found.setdefault(row.sku_id, {})[row.name] = row.value
    return found


# --- comments ------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    username: str
    score: int
    content: str
    create_time: Any  # datetime (UTC)


def mask_username(username: str) -> str:
    """An anonymous reviewer shows as first letter, ***, last letter: "demo_buyer" -> "d***r"."""
    if len(username) <= 1:
        return "***"
    return f"{username[0]}***{username[-1]}"


def sku_comments(conn: Connection, sku_id: int, page: PageRequest) -> tuple[list[Comment], int]:
    """Buyers' comments on a launched SKU, newest first (written with the order's lines)."""
    launched_sku(conn, sku_id)
    condition = and_(order_lines.c.sku_id == sku_id, order_lines.c.commented_at.is_not(None))
    count = int(conn.scalar(select(func.count()).select_from(order_lines).where(condition)) or 0)
    if page.offset >= count:
        return [], count
    rows = conn.execute(
        select(
            users.c.username,
            order_lines.c.score,
            order_lines.c.comment,
            order_lines.c.is_anonymous,
            order_lines.c.commented_at,
        )
        .select_from(order_lines.join(orders).join(users, users.c.id == orders.c.user_id))
        .where(condition)
        .order_by(order_lines.c.commented_at.desc(), order_lines.c.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    ).all()
    return [
        Comment(
            mask_username(row.username) if row.is_anonymous else row.username,
            int(row.score or 0),
            row.comment or "",
            row.commented_at,
        )
        for row in rows
    ], count


# --- home page -------------------------------------------------------------------------


def home_page(conn: Connection, redis: Redis) -> dict[str, Any]:
    """Banners and one floor of best sellers per top-level category, cached in Redis.

    The cached form holds file ids and prices in fen (as list items do), so the API
    presents cached and fresh pages the same way.
    """
    cached = redis.get(HOME_CACHE_KEY)
    if cached:
        return _home_from_json(str(cached))
    page = _build_home(conn)
    redis.set(HOME_CACHE_KEY, json.dumps(page, ensure_ascii=False), ex=HOME_CACHE_TTL_SECONDS)
    return _home_from_json(json.dumps(page))


def invalidate_home_cache(redis: Redis) -> None:
    """Drop the cached home page; the next visitor rebuilds it from the database."""
    redis.delete(HOME_CACHE_KEY)


def home_changes(conn: Connection, redis: Redis) -> None:
    """This unit changes what the home page shows: drop its cache once it commits (a
    Redis failure then is logged; the 300 s TTL is the backstop)."""
    after_commit(conn, lambda _begin: invalidate_home_cache(redis))


def _build_home(conn: Connection) -> dict[str, Any]:
    banner_rows = conn.execute(
        select(banners.c.id, banners.c.title, banners.c.image, banners.c.sku_id)
        .select_from(banners.outerjoin(skus, skus.c.id == banners.c.sku_id))
        .where(banners.c.is_visible)
        # A banner for an unlaunched SKU would lead to a 404: it is left out.
        .where((banners.c.sku_id.is_(None)) | skus.c.is_launched)
        .order_by(banners.c.sort_order, banners.c.id)
    ).all()
    floors = []
    for top in category_tree(conn):
        ids = [top["id"], *(child["id"] for child in top["children"])]
        rows = conn.execute(
            select(*SKU_ITEM_COLUMNS)
            .with_hint(skus, CATEGORY_LIST_HINT, dialect_name="mysql")
            .where(skus.c.is_launched, skus.c.category_id.in_(ids))
            .order_by(*ORDERINGS["-sales"])
            .limit(HOME_FLOOR_SIZE)
        ).all()
        if rows:
            floors.append(
                {
                    "category": {"id": top["id"], "name": top["name"]},
                    "skus": [sku_item(row).__dict__ for row in rows],
                }
            )
    return {"banners": [dict(row._mapping) for row in banner_rows], "floors": floors}


def _home_from_json(text: str) -> dict[str, Any]:
    page = json.loads(text)
    for floor in page["floors"]:
        floor["skus"] = [SkuItem(**item) for item in floor["skus"]]
    return dict(page)


# --- admin --------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuFields:
    name: str
    caption: str
    price: int  # fen
    stock: int
    category_id: int
    spu_id: int | None
    specs: dict[str, str]
    is_launched: bool


def admin_sku_names(conn: Connection) -> list[Any]:
    return list(conn.execute(select(skus.c.id, skus.c.name).order_by(skus.c.id)).all())


def admin_list_skus(
    conn: Connection, *, keyword: str, page: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    """Every SKU (launched or not) whose name contains the keyword, by id."""
    condition = skus.c.name.contains(keyword, autoescape=True) if keyword else skus.c.id > 0
    count = int(conn.scalar(select(func.count()).select_from(skus).where(condition)) or 0)
    if page.offset >= count:
        return [], count
    rows = conn.execute(
        _admin_select().where(condition).order_by(skus.c.id).offset(page.offset).limit(page.limit)
    ).all()
    specs = specs_of(conn, [row.id for row in rows])
    return [{**row._mapping, "specs": specs.get(row.id, {})} for row in rows], count


def admin_sku(conn: Connection, sku_id: int) -> dict[str, Any]:
    row = conn.execute(_admin_select().where(skus.c.id == sku_id)).first()
    if row is None:
        raise NotFound("No such SKU.")
    return {**row._mapping, "specs": specs_of(conn, [sku_id]).get(sku_id, {})}


def _admin_select() -> Select[Any]:
    return select(
        skus.c.id,
        skus.c.name,
        skus.c.caption,
        skus.c.price,
        skus.c.stock,
        skus.c.sales,
        skus.c.category_id,
        skus.c.spu_id,
        skus.c.is_launched,
    )


def create_sku(conn: Connection, redis: Redis, fields: SkuFields) -> dict[str, Any]:
    """A new SKU in a leaf category; without spu_id a new SPU is made for it."""
    spu_id = _checked_spu(conn, fields)
    now = utcnow()
    sku_id = insert_id(
        conn.execute(
            skus.insert().values(
                spu_id=spu_id,
                category_id=fields.category_id,
                name=fields.name,
                caption=fields.caption,
                price=fields.price,
                stock=fields.stock,
                is_launched=fields.is_launched,
                create_time=now,
                update_time=now,
            )
        )
    )
    search_terms.index_new_sku(conn, sku_id, fields.name, fields.caption)
    _replace_specs(conn, sku_id, fields.specs)
    home_changes(conn, redis)
    return admin_sku(conn, sku_id)


def update_sku(conn: Connection, redis: Redis, sku_id: int, fields: SkuFields) -> dict[str, Any]:
    """Replace a SKU's editable fields and specs (sales, comments and images stay)."""
    current = conn.execute(
        select(skus.c.id, skus.c.spu_id, skus.c.name, skus.c.caption)
        .where(skus.c.id == sku_id)
        .with_for_update()
    ).first()
    if current is None:
        raise NotFound("No such SKU.")
    spu_id = _checked_spu(conn, fields, keep=current.spu_id)
    conn.execute(
        update(skus)
        .where(skus.c.id == sku_id)
        .values(
            spu_id=spu_id,
            category_id=fields.category_id,
            name=fields.name,
            caption=fields.caption,
            price=fields.price,
            stock=fields.stock,
            is_launched=fields.is_launched,
            update_time=utcnow(),
        )
    )
    search_terms.reindex_sku(
        conn,
        sku_id,
        old=(current.name, current.caption),
        new=(fields.name, fields.caption),
    )
    _replace_specs(conn, sku_id, fields.specs)
    home_changes(conn, redis)
    return admin_sku(conn, sku_id)


def unlaunch_sku(conn: Connection, redis: Redis, sku_id: int) -> None:
    """Take a SKU off the shelves. The row stays: orders keep their lines and history.
    Its search terms stay too: search checks the launch state on the row itself."""
    result = conn.execute(
        update(skus).where(skus.c.id == sku_id).values(is_launched=False, update_time=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound("No such SKU.")
    home_changes(conn, redis)


def _checked_spu(conn: Connection, fields: SkuFields, keep: int | None = None) -> int:
    """The SPU the SKU belongs to: the given one (in the same category), the one it had,
    or a new SPU named after the SKU. The category must be a leaf."""
    leaf_ids = {row.id for row in leaf_categories(conn)}
    if fields.category_id not in leaf_ids:
        raise ValidationError("Choose an existing leaf category.", field="category_id")
    spu_id = fields.spu_id if fields.spu_id is not None else keep
    if spu_id is None:
        return insert_id(
            conn.execute(
                spus.insert().values(
                    name=fields.name[:50],
                    desc=fields.caption,
                    category_id=fields.category_id,
                    create_time=utcnow(),
                )
            )
        )
    spu_category = conn.scalar(select(spus.c.category_id).where(spus.c.id == spu_id))
    if spu_category is None:
        raise ValidationError("No such SPU.", field="spu_id")
    if spu_category != fields.category_id:
        raise ValidationError("The SPU belongs to another category.", field="category_id")
    return spu_id


def _replace_specs(conn: Connection, sku_id: int, specs: dict[str, str]) -> None:
    """The SKU's specs become these. (sku_id, name) is unique in the column's collation:
    on MySQL/MariaDB utf8mb4_unicode_ci "Color" = "color" = "ｃｏｌｏｒ", "é" = "e", and
    every emoji equals every other, so each name is looked up (`=` compares as the key
    does) before it is written: 400 naming specs, not a duplicate key. Not caught from
    the INSERT: MariaDB 10.6+ rolls back the whole transaction when an insert into an
    empty table fails (its bulk insert), and the unit then fails at commit (a 5xx)."""
    conn.execute(sku_specs.delete().where(sku_specs.c.sku_id == sku_id))
    for name, value in specs.items():
        taken = conn.scalar(
            select(sku_specs.c.name).where(sku_specs.c.sku_id == sku_id, sku_specs.c.name == name)
        )
        if taken is not None:
            raise ValidationError(
                f"Spec names {taken!r} and {name!r} are the same to the database (it ignores "
                "letter case, width and accents, and tells no two emoji apart).",
                field="specs",
            )
        conn.execute(sku_specs.insert().values(sku_id=sku_id, name=name, value=value))
