"""`?page=1&pagesize=10` (api.fields.PageQuery) -> `{"count", "lists", "page", "pages", ...}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
