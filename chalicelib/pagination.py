"""`?page=1&pagesize=10` (api.fields.PageQuery) -> `{"count", "lists", "page", "pages", ...}`,
and the one way a service reads a page of a list (`listing`, `page_of`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, Select, bindparam, func, select


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    pagesize: int = 10

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.pagesize

    @property
    def limit(self) -> int:
        return self.pagesize


def page_body(items: list[Any], count: int, request: PageRequest) -> dict[str, Any]:
    pages = max(1, -(-count // request.pagesize))
    return {
        "count": count,
        "lists": items,
        "page": request.page,
        "pages": pages,
        "pagesize": request.pagesize,
    }


class Listing(NamedTuple):
    """A paged list's two statements: how many rows it has, and a page of them (the
    `offset` and `limit` bound at execution). Build one per list once per process
    (`functools.cache`) where its query does not change, so a page only binds values."""

    counting: Select[Any]
    paging: Select[Any]


def listing(query: Select[Any], *, counted: Select[Any] | None = None) -> Listing:
    """The Listing of a query ordered by its first table's id; `counted`, a cheaper count
    of the same rows, when given.

    The page is read with the listed table first (STRAIGHT_JOIN on MySQL/MariaDB): left to
    itself MariaDB may read a small joined table first and then sort every listed row
    (tests/integration/test_query_plans.py).
    """
    return Listing(
        counted if counted is not None else select(func.count()).select_from(query.subquery()),
        query.prefix_with("STRAIGHT_JOIN", dialect="mysql")
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer)),
    )


def page_of(conn: Connection, listed: Listing, page: PageRequest) -> tuple[list[Any], int]:
    """One page of a listing and how many rows it has: two statements."""
    count = int(conn.scalar(listed.counting) or 0)
    if page.offset >= count:
        return [], count
    rows = conn.execute(listed.paging, {"offset": page.offset, "limit": page.limit}).all()
    return list(rows), count
