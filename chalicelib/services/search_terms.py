"""The search term index: which SKUs contain which 2-character windows of text.

A SKU's terms are every overlapping 2-character window ("bigram") of its name and of
its caption, ASCII letters lower-cased, each text followed by a space so that its last
character also starts a window: "Haier冰箱" gives "ha", "ai", "ie", "er", "r冰", "冰箱",
"箱 ". No word segmentation: search.py takes the SKUs of the query's rarest bigram as
candidates and checks each with the real LIKE, so the index only has to offer every
match, not only matches.

Why no match can be missed: LIKE '%q%' matches when each character of q equals, one by
one, a character of the text in the column's collation. Terms are compared with `=`
in that same collation (the table inherits the database default, as skus.name does),
and a _ci collation compares two strings by the weights of their characters in turn,
so two bigrams whose characters LIKE finds equal are `=` too: on MariaDB's
utf8mb4_unicode_ci "ha" = "HA" = "Há" = "ｈａ" and "（g" = "(G". `=` may equate more
than LIKE does (all characters outside the BMP weigh the same), which only adds
candidates. Checked for every BMP character on MariaDB 10.11 (bench/catalog/README.md)
and by tests/functional/catalog/test_search_index.py on both databases. SQLite's LIKE
folds only ASCII letters and compares terms bytewise, so terms are ASCII-folded here.
A term `=` to one already stored for the SKU is skipped (INSERT IGNORE), which keeps
the primary key (term, sku_id).

Terms cover every SKU, launched or not: the launch state is checked on skus when
candidates are verified, so taking a SKU off the shelves or back is a one-row update.

Every write of a SKU's name or caption must go through `index_new_sku` or
`reindex_sku` in the same transaction (admin service, demo seed, test fixtures); bulk
loads use `index_skus` (migration 0004) or `postings` (devtools/generate.py). A stale
term left by a write that bypassed this module costs only a rejected candidate; a
missing term hides a match, hence the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_

from chalicelib.db.engine import insert_ignoring_duplicates, insert_in_batches
from chalicelib.db.tables import sku_search_terms

TERM_LENGTH = 2
# After each text: its last character then starts a window, which 1-character queries
# find by prefix. A space, because a query is stripped and never ends in one.
TEXT_END = " "
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def fold(text: str) -> str:
    """ASCII letters lower-cased, every other character kept: the fold SQLite's LIKE applies
    (MariaDB's _ci collation folds more, and compares terms the same way it compares LIKE)."""
    return text.translate(_ASCII_LOWER)


def sku_terms(name: str, caption: str) -> set[str]:
    """Every term of a SKU with this name and caption."""
    terms: set[str] = set()
    for text in (name, caption):
        if text:
            padded = fold(text) + TEXT_END
            terms.update(padded[i : i + TERM_LENGTH] for i in range(len(padded) - 1))
    return terms


def query_terms(q: str) -> list[str]:
    """The distinct bigrams of a query of 2 or more characters, in query order."""
    folded = fold(q)
    return list(dict.fromkeys(folded[i : i + TERM_LENGTH] for i in range(len(folded) - 1)))


def postings(skus: Iterable[tuple[int, str, str]]) -> dict[str, list[int]]:
    """term -> ids of the SKUs (id, name, caption) that have it, ids in the order given."""
    found: dict[str, list[int]] = {}
    for sku_id, name, caption in skus:
        for term in sku_terms(name, caption):
            found.setdefault(term, []).append(sku_id)
    return found


def index_skus(
    conn: Connection, skus: Iterable[tuple[int, str, str]], *, batch_rows: int = 10_000
) -> int:
    """Add the terms of many SKUs (id, name, caption), e.g. when the index is first built.

    Rows go in term order, so each batch appends to a few places of the primary key
    instead of scattering over all of it. Returns how many rows were offered.
    """
    found = postings(skus)
    rows = ({"term": term, "sku_id": sku_id} for term in sorted(found) for sku_id in found[term])
    return insert_in_batches(conn, sku_search_terms, rows, batch_rows=batch_rows)


def index_new_sku(conn: Connection, sku_id: int, name: str, caption: str) -> None:
    """Add a new SKU's terms (same transaction as its INSERT)."""
    terms = sku_terms(name, caption)
    if terms:
        conn.execute(
            insert_ignoring_duplicates(conn, sku_search_terms),
            [{"term": term, "sku_id": sku_id} for term in sorted(terms)],
        )


def reindex_sku(
    conn: Connection,
    sku_id: int,
    *,
    old: tuple[str, str],
    new: tuple[str, str],
) -> None:
    """Replace a SKU's terms after its name or caption changed (same transaction, with the
    SKU's row locked). All old terms go and all new ones come in: a difference of the two
    sets would be wrong where the collation equates terms Python tells apart."""
    if old == new:
        return
    _delete_terms(conn, sku_id, sku_terms(*old))
    index_new_sku(conn, sku_id, *new)


def _delete_terms(conn: Connection, sku_id: int, terms: Iterable[str]) -> None:
    wanted = sorted(terms)
    if wanted:
        conn.execute(
            sku_search_terms.delete().where(
                and_(sku_search_terms.c.sku_id == sku_id, sku_search_terms.c.term.in_(wanted))
            )
        )
