"""The cart: a Redis hash per user (sku_id -> count) and a set of the selected sku ids.

Each request is one Redis round trip where the rule allows it (pipelines), and every
use pushes the expiry 30 days out, so carts of unused accounts clean themselves up.
The catalogue row is read in one query per request, never one per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from chalicelib.db.tables import skus
from chalicelib.errors import Conflict, NotFound
from chalicelib.integers import positive_counts
from chalicelib.services.catalog import ON_SALE

if TYPE_CHECKING:
    from redis import Redis

CART_TTL_SECONDS = 30 * 24 * 3600
# How long an order placed from the cart stays listed as "leaving" it (see _list_placing())
# when the after-commit clean-up that unlists it never ran (Redis down at that moment).
PLACING_TTL_SECONDS = 600
# One line may hold at most this many units: far beyond any appliance order, small
# enough that totals stay exact integers everywhere.
MAX_LINE_COUNT = 99_999


# What a cart line shows of its SKU (one SKU or all of a cart's).
LINE_SKU_COLUMNS = (
    skus.c.id,
    skus.c.name,
    skus.c.price,
    skus.c.stock,
    skus.c.default_image,
    skus.c.is_launched,
    skus.c.is_deleted,
)


def _keys(user_id: int) -> tuple[str, str]:
    return f"cart:{user_id}", f"cart:{user_id}:selected"


@dataclass(frozen=True)
class CartLine:
    sku: Any  # the SKU's id, name, price, stock, default_image, is_launched, is_deleted
    count: int
    selected: bool

    @property
    def amount(self) -> int:
        return int(self.sku.price) * self.count

    @property
    def on_sale(self) -> bool:
        """Launched and not deleted (catalog.ON_SALE)."""
        return bool(self.sku.is_launched and not self.sku.is_deleted)

    @property
    def stock(self) -> int:
        """What can be bought: nothing while the SKU is off sale (unlaunched or deleted)."""
        return int(self.sku.stock) if self.on_sale else 0


def out_of_stock(available: dict[int, int]) -> Conflict:
    """409 naming every SKU that cannot be had in the wanted count, with what is left."""
    return Conflict(
        "Not enough stock.",
        code="out_of_stock",
        extra={"skus": {str(sku_id): stock for sku_id, stock in sorted(available.items())}},
    )


def _sku(conn: Connection, sku_id: int, *, launched_only: bool = True) -> Any:
    query = select(*LINE_SKU_COLUMNS).where(skus.c.id == sku_id)
    if launched_only:
        query = query.where(ON_SALE)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No such SKU.")
    return row


def unsold(lines: list[CartLine]) -> dict[int, int]:
    """sku_id -> 0 for the lines whose SKU is no longer sold (taken off sale)."""
    return {line.sku.id: 0 for line in lines if not line.on_sale}


def _touch(pipe: Any, user_id: int) -> None:
    for key in _keys(user_id):
        pipe.expire(key, CART_TTL_SECONDS)


def add(
    conn: Connection, redis: Redis, user_id: int, sku_id: int, count: int, selected: bool
) -> CartLine:
    """Add `count` units to what the cart holds; the new total may not pass the stock."""
    sku = _sku(conn, sku_id)
    lines_key, selected_key = _keys(user_id)
    held = int(redis.hget(lines_key, str(sku_id)) or 0)
    if held + count > sku.stock:
        raise out_of_stock({sku_id: sku.stock})
    pipe = redis.pipeline()
    pipe.hincrby(lines_key, str(sku_id), count)
    if selected:
        pipe.sadd(selected_key, str(sku_id))
    else:
        pipe.srem(selected_key, str(sku_id))
    _touch(pipe, user_id)
    new_count = int(pipe.execute()[0])
    if new_count > sku.stock:
        # A concurrent add of the same user got in between: give our units back.
        redis.hincrby(lines_key, str(sku_id), -count)
        raise out_of_stock({sku_id: sku.stock})
    return CartLine(sku, new_count, selected)


def update(
    conn: Connection,
    redis: Redis,
    user_id: int,
    sku_id: int,
    *,
    count: int | None,
    selected: bool | None,
) -> CartLine:
    """Set the count and/or the selection of a line already in the cart.

    A line whose SKU was taken off sale stays in the cart: it can always be deselected
    (or removed), and a count for it is 409 out_of_stock with 0 available.
    """
    sku = _sku(conn, sku_id, launched_only=False)
    lines_key, selected_key = _keys(user_id)
    pipe = redis.pipeline()
    pipe.hget(lines_key, str(sku_id))
    pipe.sismember(selected_key, str(sku_id))
    held, was_selected = pipe.execute()
    if held is None:
        raise NotFound("This SKU is not in the cart.")
    new_count = int(held) if count is None else count
    new_selected = bool(was_selected) if selected is None else selected
    line = CartLine(sku, new_count, new_selected)
    if count is not None and count > line.stock:
        raise out_of_stock({sku_id: line.stock})
    pipe = redis.pipeline()
    pipe.hset(lines_key, str(sku_id), new_count)
    if new_selected:
        pipe.sadd(selected_key, str(sku_id))
    else:
        pipe.srem(selected_key, str(sku_id))
    _touch(pipe, user_id)
    pipe.execute()
    return line


def remove(redis: Redis, user_id: int, sku_ids: list[int], *, placed: str | None = None) -> None:
    """Drop these lines (absent ones are fine: deleting is idempotent); with `placed`, the
    order they were ordered in is no longer leaving the cart."""
    if not sku_ids and placed is None:
        return
    lines_key, selected_key = _keys(user_id)
    fields = [str(sku_id) for sku_id in sku_ids]
    pipe = redis.pipeline()
    if fields:
        pipe.hdel(lines_key, *fields)
        pipe.srem(selected_key, *fields)
    if placed is not None:
        pipe.srem(_placing_key(user_id), placed)
    pipe.execute()


def _placing_key(user_id: int) -> str:
    return f"cart:{user_id}:placing"


def _list_placing(pipe: Any, user_id: int, order_id: str) -> None:
    """List an order being placed from the cart until its lines have left the cart.

    Checkout removes the ordered lines after its commit (a Redis failure must not turn a
    committed order into an error), so for a moment a committed order's lines are still
    in the cart: a second checkout of the same user (a double click without
    Idempotency-Key), waiting on the user's row lock, would order them again. It skips
    the lines of the committed orders listed here instead (orders._leaving_the_cart).
    """
    pipe.sadd(_placing_key(user_id), order_id)
    pipe.expire(_placing_key(user_id), PLACING_TTL_SECONDS)


def unlist_placing(redis: Redis, user_id: int, order_id: str) -> None:
    """The listed order was not placed after all (its checkout failed or was a replay)."""
    redis.srem(_placing_key(user_id), order_id)


def select_all(redis: Redis, user_id: int, selected: bool) -> None:
    lines_key, selected_key = _keys(user_id)
    if not selected:
        redis.delete(selected_key)
        return
    fields = redis.hkeys(lines_key)
    pipe = redis.pipeline()
    if fields:
        pipe.sadd(selected_key, *fields)
    _touch(pipe, user_id)
    pipe.execute()


def unit_count(redis: Redis, user_id: int) -> int:
    """How many units the cart holds (the badge next to the cart icon)."""
    return sum(positive_counts(redis.hgetall(_keys(user_id)[0])).values())  # type: ignore[arg-type]


def _read(redis: Redis, user_id: int) -> tuple[dict[int, int], set[int]]:
    """Lines and selection in one round trip, refreshing the cart's expiry."""
    lines_key, selected_key = _keys(user_id)
    pipe = redis.pipeline()
    pipe.hgetall(lines_key)
    pipe.smembers(selected_key)
    _touch(pipe, user_id)
    raw_lines, raw_selected = pipe.execute()[:2]
    return positive_counts(raw_lines), {
        int(s) for s in raw_selected if s.isdecimal() and s.isascii()
    }


def lines(conn: Connection, redis: Redis, user_id: int) -> list[CartLine]:
    """Every line with its SKU (one query for all of them), in SKU id order.

    SKUs that no longer exist are left out; unlaunched ones show with stock 0, since
    they cannot be bought until they come back.
    """
    counts, selected = _read(redis, user_id)
    if not counts:
        return []
    rows = conn.execute(
        select(*LINE_SKU_COLUMNS).where(skus.c.id.in_(list(counts))).order_by(skus.c.id)
    ).all()
    return [CartLine(row, counts[row.id], row.id in selected) for row in rows]


def selected_counts(redis: Redis, user_id: int) -> dict[int, int]:
    """sku_id -> count of the selected lines: what checkout orders."""
    counts, selected = _read(redis, user_id)
    return {sku_id: count for sku_id, count in counts.items() if sku_id in selected}


def selected_for_checkout(
    redis: Redis, user_id: int, *, listing: str | None = None
) -> tuple[dict[int, int], set[str]]:
    """(sku_id -> count of the selected lines, the orders listed by _list_placing), read
    together in one MULTI: an after-commit clean-up takes a checkout's lines and its
    listing away at once, so a checkout sees both or neither.

    With `listing`, that order id is listed (_list_placing) in the same MULTI, after the
    read: the checkout's own order is not among those returned, and the listing costs no
    round trip of its own. The caller unlists it unless the order commits."""
    lines_key, selected_key = _keys(user_id)
    pipe = redis.pipeline()
    pipe.hgetall(lines_key)
    pipe.smembers(selected_key)
    pipe.smembers(_placing_key(user_id))
    if listing is not None:
        _list_placing(pipe, user_id, listing)
    _touch(pipe, user_id)
    raw_lines, raw_selected, raw_placing = pipe.execute()[:3]
    counts = positive_counts(raw_lines)
    selected = {int(s) for s in raw_selected if s.isdecimal() and s.isascii()}
    wanted = {sku_id: count for sku_id, count in counts.items() if sku_id in selected}
    return wanted, {str(order_id) for order_id in raw_placing}
