"""Product search: names and captions, through a 2-character term index.

What matches: SKUs on sale (launched, not deleted) whose name or caption contains the
query as a plain substring (`LIKE '%q%'` with `%`, `_` and the escape character escaped,
so they match themselves; quotes are bound parameters), in the column's collation: Chinese
("冰箱"), Latin in any case ("haier") and model numbers ("BCD-470") alike. Name
matches come first, then best sellers, then the newer id; the count is exact.

How it stays fast: services/search_terms.py keeps every 2-character window of every
SKU's name and caption. One cheap statement counts the SKUs of each of the query's
bigrams (up to PROBE_LIMIT); the rarest bigram's SKUs are the candidates, and only
their rows are read and checked with the LIKE above. The index can offer too many
candidates but never too few, so the answer is exactly that of the LIKE run over
every SKU. A bigram no SKU has means no match, without reading any SKU.

- Only the rarest bigram is used: probing a second bigram's list for a candidate costs
  about as much as checking the candidate's row, and a query's bigrams mostly come
  together ("一级" and "能效"), so intersecting rarely pays.
- 1-character queries take the SKUs with a term starting with that character; for a
  common character (ONE_CHARACTER_SCAN_FROM terms or more) scanning every SKU is cheaper.
- The cost follows the rarest bigram's SKU count, not the catalogue size; a bigram
  most SKUs share (e.g. a 2-character query like "白色") costs most. Figures, limits
  and the way to a search engine: bench/catalog/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Subquery,
    and_,
    case,
    func,
    or_,
    select,
)

from chalicelib.db.tables import sku_search_terms, skus
from chalicelib.pagination import PageRequest
from chalicelib.services.catalog import ON_SALE, SKU_ITEM_COLUMNS, SkuItem, sku_item
from chalicelib.services.search_terms import fold, query_terms

# Posting lists are counted up to this many entries (~0.5 ms each on MariaDB): enough to
# tell a rare bigram from a common one.
PROBE_LIMIT = 2000
# A 1-character query with this many terms starting with it is found faster by scanning
# every SKU than through the index (measured at 100,000 SKUs: bench/catalog/README.md).
ONE_CHARACTER_SCAN_FROM = 10_000
# Bigrams of a long query probed for the rarest; more would only lengthen the probe.
MAX_PROBED_TERMS = 8


def search_skus(conn: Connection, q: str, page: PageRequest) -> tuple[list[SkuItem], int]:
    """One page of SKUs on sale matching q, name matches first, then best sellers."""
    in_name = skus.c.name.contains(q, autoescape=True)
    matches = and_(ON_SALE, or_(in_name, skus.c.caption.contains(q, autoescape=True)))
    candidates = _candidates(conn, q)
    if candidates.none_match:
        return [], 0
    source: FromClause = skus
    if candidates.ids is not None:
        # Joined, not `IN (...)`: MariaDB then reads the candidates first; with IN it
        # sometimes scanned skus and looked each row up in the candidates instead.
        source = candidates.ids.join(skus, skus.c.id == candidates.ids.c.sku_id)
    caption_only = case((in_name, 0), else_=1).label("caption_only")
    # The ranking reads only narrow columns of every match; the page's rows are joined
    # back for the wide ones (a third faster at 15,000 matches on MariaDB).
    ranked = (
        select(skus.c.id, caption_only, skus.c.sales, func.count().over().label("total"))
        .select_from(source)
        .where(matches)
        .order_by(caption_only, skus.c.sales.desc(), skus.c.id.desc())
        .offset(page.offset)
        .limit(page.limit)
        .subquery("ranked")
    )
    rows = conn.execute(
        select(*SKU_ITEM_COLUMNS, ranked.c.total)
        .join_from(ranked, skus, skus.c.id == ranked.c.id)
        .order_by(ranked.c.caption_only, ranked.c.sales.desc(), ranked.c.id.desc())
    ).all()
    if rows:
        return [sku_item(row) for row in rows], int(rows[0].total)
    if page.offset == 0:
        return [], 0
    # A page past the end has no row to carry the total: count on its own.
    count = int(conn.scalar(select(func.count()).select_from(source).where(matches)) or 0)
    return [], count


@dataclass(frozen=True)
class _Candidates:
    """Distinct ids (`sku_id`) of a superset of the matching SKUs; None: every SKU is one."""

    ids: Subquery | None
    none_match: bool = False  # the index proves that no SKU matches


def _candidates(conn: Connection, q: str) -> _Candidates:
    folded = fold(q)
    if len(folded) == 1:
        starts_with = sku_search_terms.c.term.startswith(folded, autoescape=True)
        (size,) = _posting_sizes(conn, [starts_with], ONE_CHARACTER_SCAN_FROM)
        if size == 0:
            return _Candidates(None, none_match=True)
        if size >= ONE_CHARACTER_SCAN_FROM:
            return _Candidates(None)
        # A SKU has several terms starting with the character.
        return _Candidates(
            select(sku_search_terms.c.sku_id).where(starts_with).distinct().subquery()
        )
    bigrams = _spread(query_terms(folded), MAX_PROBED_TERMS)
    rarest = bigrams[0]
    if len(bigrams) > 1:
        sizes = _posting_sizes(
            conn, [sku_search_terms.c.term == term for term in bigrams], PROBE_LIMIT
        )
        if min(sizes) == 0:
            return _Candidates(None, none_match=True)
        rarest = bigrams[sizes.index(min(sizes))]  # the first of equals: earliest in q
    # One row per SKU: the primary key is unique in the collation that `=` compares in.
    return _Candidates(
        select(sku_search_terms.c.sku_id).where(sku_search_terms.c.term == rarest).subquery()
    )


def _posting_sizes(
    conn: Connection, conditions: list[ColumnElement[bool]], limit: int
) -> list[int]:
    """How many terms meet each condition, counted up to `limit`, in one statement."""
    probes = [
        select(func.count())
        .select_from(select(sku_search_terms.c.sku_id).where(condition).limit(limit).subquery())
        .scalar_subquery()
        for condition in conditions
    ]
    return [int(size) for size in conn.execute(select(*probes)).one()]


def _spread(items: list[str], most: int) -> list[str]:
    """At most `most` items, evenly spread from the first to the last."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]
