"""Product search: names and captions, in the database.

How it works: one statement finds launched SKUs whose name or caption contains the
query as a plain substring (`LIKE '%q%'` with `%`, `_` and the escape character
escaped, so they match themselves), ranks name matches before caption matches, then
by sales, and counts all matches in the same pass (`COUNT(*) OVER ()`). A substring
match needs no word segmentation, so Chinese ("冰箱"), Latin ("haier", any case: the
collations are case-insensitive) and model numbers ("BCD-470") all work.

Its limit: a leading-wildcard LIKE cannot use an index, so every search scans the
launched SKUs. bench/catalog measures it at 100,000 SKUs on MariaDB; the cost grows
linearly with the catalogue, and there is no relevance beyond name/caption/sales (no
synonyms, typos or word order). bench/catalog/README.md describes moving to
OpenSearch when a shop outgrows it.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, func, or_, select

from chalicelib.db.tables import skus
from chalicelib.pagination import PageRequest
from chalicelib.services.catalog import ORDERINGS, SKU_ITEM_COLUMNS, SkuItem, sku_item

QUERY_MAX_LENGTH = 50


def search_skus(conn: Connection, q: str, page: PageRequest) -> tuple[list[SkuItem], int]:
    """One page of launched SKUs matching q, name matches first, then best sellers."""
    in_name = skus.c.name.contains(q, autoescape=True)
    in_caption = skus.c.caption.contains(q, autoescape=True)
    condition = (skus.c.is_launched) & or_(in_name, in_caption)
    name_first = case((in_name, 0), else_=1)
    rows = conn.execute(
        select(*SKU_ITEM_COLUMNS, func.count().over().label("total"))
        .where(condition)
        .order_by(name_first, *ORDERINGS["-sales"])
        .offset(page.offset)
        .limit(page.limit)
    ).all()
    if rows:
        return [sku_item(row) for row in rows], int(rows[0].total)
    # A page past the end has no row to carry the total: count on its own.
    count = int(conn.scalar(select(func.count()).select_from(skus).where(condition)) or 0)
    return [], count
