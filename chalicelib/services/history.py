"""Browsing history: the last SKUs a user looked at, in Redis.

A Redis list per user, newest first: viewing a SKU again moves it to the front
instead of repeating it, and only the last HISTORY_SIZE are kept. SKUs unlaunched
since they were viewed are left out when the history is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection

from chalicelib.services import catalog

if TYPE_CHECKING:
    from redis import Redis

HISTORY_SIZE = 5
HISTORY_KEY = "history:{user_id}"
# A history nobody looked at for a quarter is dropped, so Redis does not keep every
# visitor forever.
HISTORY_TTL_SECONDS = 90 * 86400


def record_view(conn: Connection, redis: Redis, user_id: int, sku_id: int) -> None:
    """Put a launched SKU at the front of the user's history (NotFound for others)."""
    catalog.launched_sku(conn, sku_id)
    key = HISTORY_KEY.format(user_id=user_id)
    pipe = redis.pipeline(transaction=True)
    pipe.lrem(key, 0, str(sku_id))
    pipe.lpush(key, str(sku_id))
    pipe.ltrim(key, 0, HISTORY_SIZE - 1)
    pipe.expire(key, HISTORY_TTL_SECONDS)
    pipe.execute()


def recent_views(conn: Connection, redis: Redis, user_id: int) -> list[catalog.SkuItem]:
    """The user's recently viewed launched SKUs, newest first."""
    raw: list[str] = redis.lrange(HISTORY_KEY.format(user_id=user_id), 0, HISTORY_SIZE - 1)  # type: ignore[assignment]
    sku_ids = [int(value) for value in raw if value.isdigit()]
    return catalog.launched_items(conn, sku_ids)
