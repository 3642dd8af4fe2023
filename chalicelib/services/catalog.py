"""The catalogue: categories, SKU lists and detail, comments, the home page.

What staff change through the console lives in services/admin_skus.py (SKUs) and
services/goods.py (SPUs, specifications, options, brands, channels).

Storefront reads only ever see SKUs on sale (`ON_SALE`: launched and not deleted): any
other SKU is "not found" on its detail page and absent from every list, search, the home
page and browsing history.

Rows are returned as plain values (prices in fen, images as storage file ids); the API
layer turns them into JSON with yuan strings and absolute URLs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, select, true
from sqlalchemy.engine import Row

from chalicelib.clock import shop_today
from chalicelib.db.engine import after_commit
from chalicelib.db.tables import (
    banners,
    brands,
    categories,
    channel_groups,
    channels,
    order_lines,
    orders,
    sku_images,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
    users,
)
from chalicelib.errors import NotFound
from chalicelib.pagination import PageRequest

if TYPE_CHECKING:
    from redis import Redis

# What the storefront may show and sell: launched by staff and not deleted (a deleted SKU
# keeps its row for the orders that name it). Equalities, not IS TRUE: MariaDB skips a
# key part compared with `=` to a constant when it reads an ordering index in order, so
# `ORDER BY price, id` walks ix_skus_price_is_launched without a filesort; with IS it sorts.
ON_SALE: ColumnElement[bool] = and_(skus.c.is_launched == true(), skus.c.is_deleted == false())

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
    """Top-level categories with their children and grandchildren, in the shop's order."""
    rows = conn.execute(
        select(categories.c.id, categories.c.name, categories.c.parent_id).order_by(
            categories.c.sort_order, categories.c.id
        )
    ).all()
    nodes = {row.id: {"id": row.id, "name": row.name, "children": []} for row in rows}
    tops: list[dict[str, Any]] = []
    for row in rows:
        parent = nodes.get(row.parent_id) if row.parent_id is not None else None
        (parent["children"] if parent is not None else tops).append(nodes[row.id])
    return tops


def descendant_ids(node: dict[str, Any]) -> list[int]:
    """A category_tree node's id and the ids of everything under it."""
    return [node["id"], *(i for child in node["children"] for i in descendant_ids(child))]


def _category_and_children(conn: Connection, category_id: int) -> list[int]:
    """A category's own id and those under it: listing 大家电 shows 冰箱, 洗衣机 ..."""
    found = conn.scalar(select(categories.c.id).where(categories.c.id == category_id))
    if found is None:
        raise NotFound("No such category.")
    ids, level = [category_id], [category_id]
    while level:
        level = list(conn.scalars(select(categories.c.id).where(categories.c.parent_id.in_(level))))
        ids.extend(level)
    return ids


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
    conn: Connection,
    *,
    category_id: int | None,
    ordering: str,
    page: PageRequest,
    brand_id: int | None = None,
) -> tuple[list[SkuItem], int]:
    """One page of SKUs on sale (of a category and its children, of a brand), and how
    many there are."""
    condition: ColumnElement[bool] = ON_SALE
    if category_id is not None:
        condition = and_(
            condition, skus.c.category_id.in_(_category_and_children(conn, category_id))
        )
    if brand_id is not None:
        condition = and_(condition, skus.c.spu_id.in_(_spus_of_brand(conn, brand_id)))
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


def _spus_of_brand(conn: Connection, brand_id: int) -> Select[Any]:
    """The ids of a brand's SPUs, as a subquery; NotFound for no such brand."""
    found = conn.scalar(
        select(brands.c.id).where(brands.c.id == brand_id, brands.c.is_deleted.is_(False))
    )
    if found is None:
        raise NotFound("No such brand.")
    return select(spus.c.id).where(spus.c.brand_id == brand_id)


def launched_sku(conn: Connection, sku_id: int) -> Row[Any]:
    """A SKU on sale (launched, not deleted), else NotFound."""
    row = conn.execute(select(skus).where(skus.c.id == sku_id, ON_SALE)).first()
    if row is None:
        raise NotFound("No such product.")
    return row


def launched_items(conn: Connection, sku_ids: list[int]) -> list[SkuItem]:
    """The ones of these SKUs that are on sale, in the order given."""
    if not sku_ids:
        return []
    rows = conn.execute(select(*SKU_ITEM_COLUMNS).where(skus.c.id.in_(sku_ids), ON_SALE)).all()
    by_id = {row.id: sku_item(row) for row in rows}
    return [by_id[sku_id] for sku_id in sku_ids if sku_id in by_id]


def sku_detail(conn: Connection, sku_id: int) -> dict[str, Any]:
    """A SKU on sale with its category, SPU (three descriptions), brand (None when the SPU
    has none), specs, visible images and the variants on sale (the SKUs of its SPU, each
    with the options it picks)."""
    sku = launched_sku(conn, sku_id)
    category = conn.execute(
        select(categories.c.id, categories.c.name).where(categories.c.id == sku.category_id)
    ).one()
    spu = conn.execute(
        select(
            spus.c.id,
            spus.c.name,
            spus.c.desc_detail,
            spus.c.desc_pack,
            spus.c.desc_service,
            brands.c.id.label("brand_id"),
            brands.c.name.label("brand_name"),
            brands.c.logo.label("brand_logo"),
        )
        .select_from(spus.outerjoin(brands, brands.c.id == spus.c.brand_id))
        .where(spus.c.id == sku.spu_id)
    ).one()
    variant_ids = list(
        conn.scalars(
            select(skus.c.id).where(skus.c.spu_id == sku.spu_id, ON_SALE).order_by(skus.c.id)
        )
    )
    specs = picked_specs(conn, variant_ids)
    images = list(
        conn.scalars(
            select(sku_images.c.image)
            .where(sku_images.c.sku_id == sku_id, ~sku_images.c.is_hidden)
            .order_by(sku_images.c.id)
        )
    )
    if not images and sku.default_image:
        images = [sku.default_image]
    brand = None
    if spu.brand_id is not None:
        brand = {"id": spu.brand_id, "name": spu.brand_name, "logo": spu.brand_logo}
    return {
        "sku": sku,
        "category": category,
        "spu": spu,
        "brand": brand,
        "specs": specs.get(sku_id, {}),
        "images": images,
        "variants": [{"id": v, "specs": specs.get(v, {})} for v in variant_ids],
    }


def picked_specs(conn: Connection, sku_ids: list[int]) -> dict[int, dict[str, str]]:
    """sku id -> {specification name: option value} of the options each SKU picks, in the
    order the SPU's specifications were made; one query."""
    found: dict[int, dict[str, str]] = {}
    if not sku_ids:
        return found
    rows = conn.execute(
        select(sku_spec_options.c.sku_id, spu_specs.c.name, spec_options.c.value)
        .join(spu_specs, spu_specs.c.id == sku_spec_options.c.spec_id)
        .join(spec_options, spec_options.c.id == sku_spec_options.c.option_id)
        .where(sku_spec_options.c.sku_id.in_(sku_ids))
        .order_by(sku_spec_options.c.sku_id, spu_specs.c.id)
    ).all()
    for row in rows:
        found.setdefault(row.sku_id, {})[row.name] = row.value
    return found


def channel_menu(conn: Connection) -> list[dict[str, Any]]:
    """The channel groups in order (by id), each with its channels by sequence then id:
    `[{id, name, channels: [{id, category: {id, name}, url}]}]`."""
    groups = {
        row.id: {"id": row.id, "name": row.name, "channels": []}
        for row in conn.execute(
            select(channel_groups.c.id, channel_groups.c.name).order_by(channel_groups.c.id)
        )
    }
    rows = conn.execute(
        select(
            channels.c.id,
            channels.c.group_id,
            channels.c.url,
            categories.c.id.label("category_id"),
            categories.c.name.label("category_name"),
        )
        .join(categories, categories.c.id == channels.c.category_id)
        .order_by(channels.c.group_id, channels.c.sequence, channels.c.id)
    ).all()
    for row in rows:
        groups[row.group_id]["channels"].append(
            {
                "id": row.id,
                "category": {"id": row.category_id, "name": row.category_name},
                "url": row.url,
            }
        )
    return list(groups.values())


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
    """Buyers' comments on a SKU on sale, newest first (written with the order's lines)."""
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
    text = json.dumps(_build_home(conn), ensure_ascii=False)
    redis.set(HOME_CACHE_KEY, text, ex=HOME_CACHE_TTL_SECONDS)
    return _home_from_json(text)


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
        # A banner for a SKU not on sale would lead to a 404: it is left out.
        .where((banners.c.sku_id.is_(None)) | ON_SALE)
        .order_by(banners.c.sort_order, banners.c.id)
    ).all()
    floors = []
    for top in category_tree(conn):
        ids = descendant_ids(top)
        rows = conn.execute(
            select(*SKU_ITEM_COLUMNS)
            .with_hint(skus, CATEGORY_LIST_HINT, dialect_name="mysql")
            .where(ON_SALE, skus.c.category_id.in_(ids))
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
