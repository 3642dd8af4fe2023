"""`?page=1&pagesize=10` -> `{"count", "lists", "page", "pages", "pagesize"}` (API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationError

DEFAULT_PAGESIZE = 10
MAX_PAGESIZE = 100
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    pagesize: int = DEFAULT_PAGESIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.pagesize

    @property
    def limit(self) -> int:
        return self.pagesize


def page_request(params: dict[str, str] | None) -> PageRequest:
    """Read page and pagesize. A bad page number is a 400; pagesize is capped at 100."""
    params = params or {}
    page = _positive(params, "page", 1)
    if page > MAX_PAGE:
        raise ValidationError(f"Must be at most {MAX_PAGE}.", field="page")
    pagesize = min(_positive(params, "pagesize", DEFAULT_PAGESIZE), MAX_PAGESIZE)
    return PageRequest(page, pagesize)


def _positive(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValidationError("Must be a positive integer.", field=name)
    return int(raw)


def page_body(items: list[Any], count: int, request: PageRequest) -> dict[str, Any]:
    pages = max(1, -(-count // request.pagesize))
    return {
        "count": count,
        "lists": items,
        "page": request.page,
        "pages": pages,
        "pagesize": request.pagesize,
    }
