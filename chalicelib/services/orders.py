"""Checkout and orders: placing, cancelling, paying from the wallet, receipt, comments.

The rules that keep the shop honest under contention:

- Stock is taken with one conditional UPDATE per SKU
  (`stock = stock - n, sales = sales + n WHERE id = ? AND stock >= n`), SKUs in id
  order (so two checkouts never wait on each other in a cycle), in the same
  transaction as the order, its lines and its first history row. A buyer is refused
  only when the stock really is short; nothing oversells; a failure anywhere rolls
  all of it back. (The seeds' read-then-compare-and-retry loop fails buyers while
  stock remains: see bench/checkout_contention.)
- Every status change is a conditional move of services.order_states, so a payment,
  a cancellation and the expiry job racing for one order have exactly one winner.
- Stock goes back (`stock + n, sales - n`) only in the transaction whose move to
  cancelled succeeded, so it is returned exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    null,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.db.engine import UnitOfWork, after_commit, after_rollback
from chalicelib.db.tables import (
    addresses,
    order_lines,
    order_status_history,
    orders,
    refunds,
    skus,
    users,
)
from chalicelib.errors import NON_FIELD, Conflict, NotFound, ValidationError
from chalicelib.pagination import PageRequest
from chalicelib.services import cart
from chalicelib.services.catalog import ON_SALE
from chalicelib.services.order_states import Status, move

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.adapters.alipay import AlipayClient

log = logging.getLogger("shop.orders")

PAY_METHODS = ("alipay", "balance")
IDEMPOTENCY_WINDOW = timedelta(hours=24)
ADDRESS_SNAPSHOT = ("receiver", "province", "city", "district", "place", "mobile")
EXPIRY_BATCH = 500


@dataclass(frozen=True)
class OrderDetail:
    order: Any  # the orders row with the buyer's username (or PlacedOrder)
    lines: list[Any]  # order_lines rows with the SKU's default_image (or PlacedLine)
    refunds: tuple[Any, ...] = ()  # refunds rows, oldest first (services.refunds)


@dataclass(frozen=True)
class PlacedLine:
    """A line of an order being placed, as the order_lines row it becomes (not yet commented)."""

    sku_id: int
    name: str
    price: int
    count: int
    default_image: str | None
    score: int | None = None
    comment: str | None = None
    is_anonymous: bool = False
    commented_at: datetime | None = None


class PlacedOrder(NamedTuple):
    """An order just placed, as the orders row (with the buyer's username) it became:
    checkout answers with what it wrote instead of reading the row back. (A NamedTuple,
    like a Row: its class costs a quarter of a dataclass's at import, cold start.)"""

    order_id: str
    user_id: int
    receiver: str
    province: str
    city: str
    district: str
    place: str
    mobile: str
    total_count: int
    total_amount: int
    freight: int
    payment_amount: int
    pay_method: str
    status: int
    idempotency_key: str | None
    request_fingerprint: str | None
    needs_refund: bool
    create_time: datetime
    update_time: datetime
    expires_at: datetime
    paid_at: datetime | None
    username: str


@dataclass(frozen=True)
class Placement:
    detail: OrderDetail
    # True when an Idempotency-Key matched an earlier order: nothing was taken again.
    replayed: bool


# --- ids, fingerprints, freight ------------------------------------------------------


def new_order_id(user_id: int, now: datetime) -> str:
    """32 digits: UTC time to the microsecond (20), the user (8), random (4).

    Sortable by time, digits only and at most 32 characters, as Alipay's out_trade_no
    requires; two orders of one user in the same microsecond still differ by the
    random part (and a clash would fail on the primary key, not merge orders).
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    return f"{stamp}{user_id % 10**8:08d}{secrets.randbelow(10**4):04d}"


def request_fingerprint(address_id: int, pay_method: str) -> str:
    """What an Idempotency-Key promises to repeat: the body of the first request."""
    canonical = json.dumps({"address_id": address_id, "pay_method": pay_method}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def freight_for(total_amount: int) -> int:
    """Free from FREIGHT_FREE_FROM, otherwise the flat FREIGHT_FEE."""
    s = settings()
    return 0 if total_amount >= s.freight_free_from_fen else s.freight_fee_fen


# --- settlement and placing ------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    addresses: list[Row[Any]]
    lines: list[cart.CartLine]
    total_count: int
    total_amount: int
    freight: int

    @property
    def payment_amount(self) -> int:
        return self.total_amount + self.freight


def settlement(conn: Connection, redis: Redis, user_id: int) -> Settlement:
    """What placing an order now would cost: the selected cart lines at today's prices.

    409 out_of_stock (0 available) naming the selected lines whose SKU is no longer sold,
    as placing the order would: the buyer deselects or removes them first.
    """
    lines = [line for line in cart.lines(conn, redis, user_id) if line.selected]
    if unsold := cart.unsold(lines):
        raise cart.out_of_stock(unsold)
    address_rows = conn.execute(
        select(addresses).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
    ).all()
    total = sum(line.amount for line in lines)
    return Settlement(
        addresses=list(address_rows),
        lines=lines,
        total_count=sum(line.count for line in lines),
        total_amount=total,
        freight=freight_for(total) if lines else 0,
    )


class _CheckoutStatements:
    """Checkout's statements, built once per process (SQLAlchemy then finds each compiled
    form by its cache key without building the construct again), values bound at
    execution."""

    def __init__(self) -> None:
        self.lock_user = (
            select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
        )
        self.insert_order = orders.insert()
        self.insert_history = order_status_history.insert()
        self.insert_lines = order_lines.insert()  # executed with every line: one statement
        # Named apart from the columns: an UPDATE's SET may not reuse a column's name.
        n: BindParameter[int] = bindparam("take_n", type_=Integer)
        self.take_units = (
            update(skus)
            .where(skus.c.id == bindparam("take_id"), skus.c.stock >= n)
            .values(stock=skus.c.stock - n, sales=skus.c.sales + n)
        )
        self._reads: dict[tuple[bool, bool], Select[Any]] = {}

    def read(self, *, with_key: bool, with_skus: bool) -> Select[Any]:
        """Everything an order is made of, in one plain read of the user's row: the
        unpaid-order count, the address (address_id NULL when it is not the user's), the
        order the Idempotency-Key made (earlier_*), and one row per on-sale SKU wanted
        (sku_*)."""
        found = self._reads.get((with_key, with_skus))
        if found is not None:
            return found
        user_id: BindParameter[int] = bindparam("user_id", type_=Integer)
        unpaid = (
            select(func.count())
            .select_from(orders)
            .where(orders.c.user_id == user_id, orders.c.status == int(Status.UNPAID))
            .scalar_subquery()
        )
        columns: list[Any] = [
            users.c.username,
            unpaid.label("unpaid"),
            addresses.c.id.label("address_id"),
            *(addresses.c[name] for name in ADDRESS_SNAPSHOT),
        ]
        joined: Any = users
        if with_skus:
            columns += [
                skus.c.id.label("sku_id"),
                skus.c.name.label("sku_name"),
                skus.c.price.label("sku_price"),
                skus.c.default_image.label("sku_default_image"),
            ]
            # Joined first: SQLAlchemy's MySQL compiler sees a join of two tables as
            # related (no cartesian product warning), a later one only by its ON clause.
            joined = users.outerjoin(
                skus, and_(skus.c.id.in_(bindparam("sku_ids", expanding=True)), ON_SALE)
            )
        else:
            columns.append(null().label("sku_id"))
        joined = joined.outerjoin(
            addresses,
            and_(addresses.c.id == bindparam("address_id"), addresses.c.user_id == users.c.id),
        )
        if with_key:
            earlier = orders.alias("earlier")
            columns += [
                earlier.c.order_id.label("earlier_id"),
                earlier.c.request_fingerprint.label("earlier_fingerprint"),
                earlier.c.create_time.label("earlier_create_time"),
            ]
            joined = joined.outerjoin(
                earlier,
                and_(
                    earlier.c.user_id == users.c.id,
                    earlier.c.idempotency_key == bindparam("key"),
                ),
            )
        statement = select(*columns).select_from(joined).where(users.c.id == user_id)
        self._reads[(with_key, with_skus)] = statement
        return statement


@cache
def _checkout_statements() -> _CheckoutStatements:
    return _CheckoutStatements()


def place(
    conn: Connection,
    redis: Redis,
    *,
    user_id: int,
    address_id: int,
    pay_method: str,
    idempotency_key: str | None = None,
) -> Placement:
    """Take stock for the selected cart lines and create an unpaid order.

    Raises 400 (nothing selected, not the user's address), 409 out_of_stock (with what
    is left of each short SKU), 409 too_many_unpaid_orders (MAX_UNPAID_ORDERS) or 409
    idempotency_conflict; the caller's transaction then rolls back whatever was taken,
    and the cart stays as it was: the ordered lines leave it only once the unit has
    committed (an after-commit hook).

    What it sends: the user's row lock; one read of everything the order is made of
    (the earlier order of the Idempotency-Key, the unpaid-order count, the address, the
    SKUs' prices), taken after the lock; the order, its history row, the stock and the
    lines. The order answered is built from what was written, not read back.
    """
    now = utcnow()
    if idempotency_key:
        idempotency_key = stored_idempotency_key(idempotency_key)
    statements = _checkout_statements()
    # One checkout per user at a time (the user's row lock, as addresses.add does), so
    # two concurrent checkouts cannot both pass the unpaid-order limit. Everything below
    # is read after it, so it sees what the checkout it waited for committed.
    conn.execute(statements.lock_user, {"user_id": user_id})
    fingerprint = request_fingerprint(address_id, pay_method) if idempotency_key else None
    order_id = new_order_id(user_id, now)
    # The order is listed as leaving the cart as the cart is read (one MULTI), before the
    # hot rows; it is unlisted again unless it commits (after which the clean-up that
    # removes its lines unlists it).
    wanted, placing = cart.selected_for_checkout(redis, user_id, listing=order_id)
    after_rollback(conn, lambda _begin: cart.unlist_placing(redis, user_id, order_id))

    def replayed(earlier: OrderDetail) -> Placement:
        after_commit(conn, lambda _begin: cart.unlist_placing(redis, user_id, order_id))
        return Placement(earlier, replayed=True)

    if wanted and placing and (leaving := _leaving_the_cart(conn, user_id, placing)):
        wanted = {sku_id: n for sku_id, n in wanted.items() if sku_id not in leaving}
    # A plain read (no lock beyond the user's row): the same rows the separate reads saw,
    # in one round trip. One row per SKU found (a single row when none is).
    rows = conn.execute(
        statements.read(with_key=bool(idempotency_key), with_skus=bool(wanted)),
        {
            "user_id": user_id,
            "address_id": address_id,
            "key": idempotency_key,
            "sku_ids": list(wanted),
        },
    ).all()
    found = rows[0] if rows else None
    if idempotency_key and found is not None and found.earlier_id is not None:
        earlier = _answer_replay(conn, found, fingerprint, now)
        if earlier is not None:
            return replayed(earlier)
    _check_unpaid_limit(int(found.unpaid) if found is not None else 0)
    if found is None or found.address_id is None:
        raise ValidationError("No such address.", field="address_id")
    if not wanted:
        # A concurrent request with the same key may have committed (and emptied the
        # cart) since we looked: its order is then the answer, not a 400.
        earlier = (
            _replay(conn, user_id, idempotency_key, fingerprint, now) if idempotency_key else None
        )
        if earlier is not None:
            return replayed(earlier)
        raise ValidationError("Select at least one cart item to order.", field=NON_FIELD)
    priced = {row.sku_id: row for row in rows if row.sku_id is not None}
    if gone := {sku_id: 0 for sku_id in wanted if sku_id not in priced}:
        raise cart.out_of_stock(gone)
    total_amount = sum(int(priced[sku_id].sku_price) * count for sku_id, count in wanted.items())
    freight = freight_for(total_amount)
    values = {
        "order_id": order_id,
        "user_id": user_id,
        **{name: found._mapping[name] for name in ADDRESS_SNAPSHOT},
        "total_count": sum(wanted.values()),
        "total_amount": total_amount,
        "freight": freight,
        "payment_amount": total_amount + freight,
        "pay_method": pay_method,
        "status": int(Status.UNPAID),
        "idempotency_key": idempotency_key,
        "request_fingerprint": fingerprint,
        "create_time": now,
        "update_time": now,
        "expires_at": now + timedelta(minutes=settings().order_payment_timeout_minutes),
    }
    if idempotency_key:
        # A concurrent request with the same key inserts first: ours then waits for it
        # on the unique index and fails, and that request's order is the answer.
        try:
            with conn.begin_nested():
                conn.execute(statements.insert_order, values)
        except IntegrityError:
            earlier = _replay(conn, user_id, idempotency_key, fingerprint, now)
            if earlier is None:
                raise
            return replayed(earlier)
    else:
        conn.execute(statements.insert_order, values)
    _record_placement(conn, order_id, user_id, now)
    lines = [
        PlacedLine(
            sku_id=sku_id,
            name=priced[sku_id].sku_name,
            price=int(priced[sku_id].sku_price),
            count=count,
            default_image=priced[sku_id].sku_default_image,
        )
        for sku_id, count in sorted(wanted.items())
    ]
    # The hot rows come last and hold their locks only for the lines' insert and the
    # commit: everything else (reads, Redis, order, history) is done before.
    # The stock goes before the lines because inserting a line takes a shared lock on
    # its SKU row (the foreign key): two checkouts holding that shared lock, both then
    # wanting the exclusive one for the stock update, would deadlock.
    _take_stock(conn, wanted)
    conn.execute(
        statements.insert_lines,
        [
            {
                "order_id": order_id,
                "sku_id": line.sku_id,
                "name": line.name,
                "price": line.price,
                "count": line.count,
            }
            for line in lines
        ],
    )
    ordered = [line.sku_id for line in lines]
    after_commit(conn, lambda _begin: cart.remove(redis, user_id, ordered, placed=order_id))
    # The order as get() would read it back: every column as written (the server's
    # defaults are needs_refund false, paid_at null) and the buyer's username.
    order = PlacedOrder(**values, needs_refund=False, paid_at=None, username=found.username)
    return Placement(OrderDetail(order, list(lines)), replayed=False)


def _leaving_the_cart(conn: Connection, user_id: int, listed: set[str]) -> set[int]:
    """SKUs of the listed orders (cart.selected_for_checkout's listing) that committed:
    their lines are still to leave the cart, as the after-commit clean-up of a checkout
    that committed while we waited for the user's row lock has not run yet. Orders that
    never committed (a failed checkout's, until its clean-up unlists it) are not found."""
    return set(
        conn.scalars(
            select(order_lines.c.sku_id)
            .join(orders, orders.c.order_id == order_lines.c.order_id)
            .where(orders.c.user_id == user_id, order_lines.c.order_id.in_(sorted(listed)))
        )
    )


def _check_unpaid_limit(unpaid: int) -> None:
    """409 too_many_unpaid_orders when the user already holds MAX_UNPAID_ORDERS unpaid
    orders (`unpaid`, counted under the user's row lock): each holds its stock, so one
    account could otherwise hold a SKU's whole stock."""
    limit = settings().max_unpaid_orders
    if unpaid >= limit:
        raise Conflict(
            f"You have {limit} unpaid orders: pay or cancel one before placing another.",
            code="too_many_unpaid_orders",
        )


def _record_placement(conn: Connection, order_id: str, user_id: int, now: datetime) -> None:
    conn.execute(
        _checkout_statements().insert_history,
        {
            "order_id": order_id,
            "from_status": None,
            "to_status": int(Status.UNPAID),
            "actor": f"user:{user_id}",
            "reason": "placed",
            "create_time": now,
        },
    )


def stored_idempotency_key(key: str) -> str:
    """What the orders table keeps of a client's key: its SHA-256 in lowercase hex.

    MySQL/MariaDB compare the column in utf8mb4_unicode_ci, where "Checkout-1" and
    "checkout-1" are one key (a second, different checkout got the first order back);
    lowercase hex digests compare the same in any collation, and fit the 64 characters.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def _replay(
    conn: Connection, user_id: int, key: str, fingerprint: str | None, now: datetime
) -> OrderDetail | None:
    """The order an Idempotency-Key already made within 24 h, or None (_answer_replay)."""
    row = conn.execute(
        select(
            orders.c.order_id.label("earlier_id"),
            orders.c.request_fingerprint.label("earlier_fingerprint"),
            orders.c.create_time.label("earlier_create_time"),
        ).where(orders.c.user_id == user_id, orders.c.idempotency_key == key)
    ).first()
    return None if row is None else _answer_replay(conn, row, fingerprint, now)


def _answer_replay(
    conn: Connection, earlier: Any, fingerprint: str | None, now: datetime
) -> OrderDetail | None:
    """The order an Idempotency-Key made (`earlier`: its earlier_id, earlier_fingerprint,
    earlier_create_time), if it was made within 24 h; 409 idempotency_conflict when the
    key came with a different request.

    A key older than the window is released (set to NULL on its order), so the unique
    (user_id, idempotency_key) index lets the key start over, and None is returned.
    """
    if earlier.earlier_create_time < now - IDEMPOTENCY_WINDOW:
        conn.execute(
            update(orders)
            .where(orders.c.order_id == earlier.earlier_id)
            .values(idempotency_key=None)
        )
        return None
    if earlier.earlier_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            code="idempotency_conflict",
        )
    return get(conn, earlier.earlier_id)


def _take_stock(conn: Connection, wanted: dict[int, int]) -> None:
    """One conditional UPDATE per SKU, in id order; 409 out_of_stock on the first short one.

    The caller's transaction rolls back what was taken before the short SKU.
    """
    for sku_id, count in sorted(wanted.items()):
        if not take_units(conn, sku_id, count):
            remaining = {k: v for k, v in wanted.items() if k >= sku_id}
            stock = {
                row.id: int(row.stock)
                for row in conn.execute(
                    select(skus.c.id, skus.c.stock).where(skus.c.id.in_(remaining))
                )
            }
            raise cart.out_of_stock(
                {k: stock.get(k, 0) for k, v in remaining.items() if stock.get(k, 0) < v}
                or {sku_id: stock.get(sku_id, 0)}
            )


def take_units(conn: Connection, sku_id: int, count: int) -> bool:
    """Take `count` units of a SKU if that many are left: the one conditional UPDATE."""
    result = conn.execute(_checkout_statements().take_units, {"take_id": sku_id, "take_n": count})
    return result.rowcount == 1


def _lines_by_sku(conn: Connection, order_id: str) -> list[tuple[int, int]]:
    rows = conn.execute(
        select(order_lines.c.sku_id, func.sum(order_lines.c.count))
        .where(order_lines.c.order_id == order_id)
        .group_by(order_lines.c.sku_id)
        .order_by(order_lines.c.sku_id)
    ).all()
    return [(int(sku_id), int(count)) for sku_id, count in rows]


# --- primitives other areas use (payments) --------------------------------------------


def cancel(conn: Connection, order_id: str, *, actor: str, reason: str) -> bool:
    """Cancel an unpaid order and return its stock; False if it is no longer unpaid.

    The conditional move decides the race (payment, buyer, staff, expiry job): only
    the transaction that moved the order returns the stock, SKUs in id order.
    """
    if not move(
        conn,
        order_id,
        from_status=Status.UNPAID,
        to_status=Status.CANCELLED,
        actor=actor,
        reason=reason,
    ):
        return False
    return_stock(conn, order_id)
    return True


def return_stock(conn: Connection, order_id: str) -> None:
    """Put a cancelled order's units back (`stock + n, sales - n`), SKUs in id order.

    Only the transaction whose move to cancelled succeeded calls it: exactly once.
    """
    for sku_id, count in _lines_by_sku(conn, order_id):
        conn.execute(
            update(skus)
            .where(skus.c.id == sku_id)
            .values(stock=skus.c.stock + count, sales=skus.c.sales - count)
        )


class _ShortOfStock(Exception):
    pass


def retake_stock(conn: Connection, order_id: str) -> bool:
    """Take a cancelled order's stock again (a payment arrived after cancellation).

    All or nothing: the same conditional updates as checkout, in id order, inside a
    savepoint; False with nothing taken when any line cannot be had.
    """
    try:
        with conn.begin_nested():
            for sku_id, count in _lines_by_sku(conn, order_id):
                if not take_units(conn, sku_id, count):
                    raise _ShortOfStock()
    except _ShortOfStock:
        return False
    return True


# --- reading ----------------------------------------------------------------------------


def _line_rows(conn: Connection, order_ids: list[str]) -> dict[str, list[Row[Any]]]:
    grouped: dict[str, list[Row[Any]]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return grouped
    rows = conn.execute(_order_reads().lines, {"order_ids": order_ids}).all()
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped


def _refund_rows(conn: Connection, order_ids: list[str]) -> dict[str, tuple[Row[Any], ...]]:
    grouped: dict[str, list[Row[Any]]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        for row in conn.execute(_order_reads().refunds, {"order_ids": order_ids}):
            grouped[row.order_id].append(row)
    return {order_id: tuple(rows) for order_id, rows in grouped.items()}


def _order_select() -> Any:
    return select(orders, users.c.username).join(users, users.c.id == orders.c.user_id)


class _OrderReads(NamedTuple):
    """An order's reads, built once per process, values bound at execution: the order
    (`order_id`; `users_order` also `user_id`), and the lines and refunds of the listed
    orders (`order_ids`)."""

    order: Select[Any]
    users_order: Select[Any]
    lines: Select[Any]
    refunds: Select[Any]


@cache
def _order_reads() -> _OrderReads:
    order = _order_select().where(orders.c.order_id == bindparam("order_id"))
    listed: BindParameter[list[str]] = bindparam("order_ids", expanding=True)
    return _OrderReads(
        order,
        order.where(orders.c.user_id == bindparam("user_id", type_=Integer)),
        select(order_lines, skus.c.default_image)
        .join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id.in_(listed))
        .order_by(order_lines.c.order_id, order_lines.c.sku_id),
        select(refunds).where(refunds.c.order_id.in_(listed)).order_by(refunds.c.id),
    )


def get(conn: Connection, order_id: str, *, user_id: int | None = None) -> OrderDetail:
    """The order with its lines; another user's order is simply not found."""
    reads = _order_reads()
    if user_id is None:
        row = conn.execute(reads.order, {"order_id": order_id}).first()
    else:
        row = conn.execute(reads.users_order, {"order_id": order_id, "user_id": user_id}).first()
    if row is None:
        raise NotFound("No such order.")
    return OrderDetail(
        row, _line_rows(conn, [order_id])[order_id], _refund_rows(conn, [order_id])[order_id]
    )


def page(
    conn: Connection,
    request: PageRequest,
    *,
    user_id: int | None = None,
    status: int | None = None,
    keyword: str | None = None,
) -> tuple[list[OrderDetail], int]:
    """Orders newest first with their lines (two queries for the page, not one per order)."""
    conditions = []
    if user_id is not None:
        conditions.append(orders.c.user_id == user_id)
    if status is not None:
        conditions.append(orders.c.status == status)
    if keyword:
        conditions.append(orders.c.order_id.contains(keyword, autoescape=True))
    count = int(conn.scalar(select(func.count()).select_from(orders).where(*conditions)) or 0)
    # Orders first, then each one's buyer by primary key: left to itself MariaDB may read
    # the (smaller) users table first and sort every order (test_query_plans.py).
    rows = conn.execute(
        _order_select()
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
        .where(*conditions)
        .order_by(orders.c.create_time.desc(), orders.c.order_id.desc())
        .limit(request.limit)
        .offset(request.offset)
    ).all()
    order_ids = [row.order_id for row in rows]
    lines, refunded = _line_rows(conn, order_ids), _refund_rows(conn, order_ids)
    return [OrderDetail(row, lines[row.order_id], refunded[row.order_id]) for row in rows], count


# --- the buyer's moves ----------------------------------------------------------------


def invalid_status(detail: str = "The order is not in a status that allows this.") -> Conflict:
    return Conflict(detail, code="invalid_status")


def confirm_receipt(conn: Connection, *, user_id: int, order_id: str) -> OrderDetail:
    get(conn, order_id, user_id=user_id)
    if not move(
        conn,
        order_id,
        from_status=Status.SHIPPED,
        to_status=Status.RECEIVED,
        actor=f"user:{user_id}",
        reason="receipt confirmed",
    ):
        raise invalid_status("Only shipped orders can be received.")
    return get(conn, order_id)


@dataclass(frozen=True)
class Comment:
    sku_id: int
    score: int
    content: str
    anonymous: bool


def comment(
    conn: Connection, *, user_id: int, order_id: str, comments: list[Comment]
) -> OrderDetail:
    """Comment every line of a received order at once; the order is then completed."""
    detail = get(conn, order_id, user_id=user_id)
    if detail.order.status != Status.RECEIVED:
        raise invalid_status("Only received orders can be commented on.")
    line_skus = {line.sku_id for line in detail.lines}
    given = [c.sku_id for c in comments]
    if len(given) != len(set(given)):
        raise ValidationError("Give one comment per SKU.", field="comments")
    if set(given) != line_skus:
        raise ValidationError(
            f"Comment every line of the order exactly once: SKUs {sorted(line_skus)}.",
            field="comments",
        )
    if not move(
        conn,
        order_id,
        from_status=Status.RECEIVED,
        to_status=Status.COMPLETED,
        actor=f"user:{user_id}",
        reason="commented",
    ):
        raise invalid_status("Only received orders can be commented on.")
    now = utcnow()
    for c in sorted(comments, key=lambda c: c.sku_id):
        conn.execute(
            update(order_lines)
            .where(order_lines.c.order_id == order_id, order_lines.c.sku_id == c.sku_id)
            .values(score=c.score, comment=c.content, is_anonymous=c.anonymous, commented_at=now)
        )
        conn.execute(update(skus).where(skus.c.id == c.sku_id).values(comments=skus.c.comments + 1))
    return get(conn, order_id)


def pay(conn: Connection, *, user_id: int, order_id: str) -> OrderDetail:
    """Pay an unpaid order. A wallet order is paid here and comes back paid; an Alipay
    order comes back as it is, checked payable: the caller then signs its pay URL after
    the transaction (payments.alipay_page_pay_url), since the first signing in a
    container may load keys from Secrets Manager, no I/O to hold a transaction open for.
    """
    detail = get(conn, order_id, user_id=user_id)
    order = detail.order
    if order.status != Status.UNPAID:
        raise invalid_status("Only unpaid orders can be paid.")
    if order.expires_at <= utcnow():
        raise invalid_status("The time to pay this order has run out.")
    if order.pay_method == "alipay":
        return detail
    return _pay_from_balance(conn, order)


def _pay_from_balance(conn: Connection, order: Row[Any]) -> OrderDetail:
    """Order 1 -> 2, balance down by the amount and a ledger row, in one transaction.

    The move goes first: it decides races with cancellation (the order row is locked
    from here on) before any money moves; a short balance then rolls the move back.
    """
    amount = int(order.payment_amount)
    if not move(
        conn,
        order.order_id,
        from_status=Status.UNPAID,
        to_status=Status.PAID,
        actor=f"user:{order.user_id}",
        reason="paid from balance",
        paid_at=utcnow(),
    ):
        raise invalid_status("Only unpaid orders can be paid.")
    debited = conn.execute(
        update(users)
        .where(users.c.id == order.user_id, users.c.balance >= amount)
        .values(balance=users.c.balance - amount)
    )
    if debited.rowcount != 1:
        raise Conflict("The balance does not cover this order.", code="insufficient_balance")
    from chalicelib.services import wallet

    wallet.record(conn, order.user_id, -amount, "payment", order_id=order.order_id)
    return get(conn, order.order_id)


# --- staff ---------------------------------------------------------------------------------


def change_status_by_staff(
    conn: Connection, *, staff_id: int, order_id: str, status: int
) -> OrderDetail:
    """Staff may ship a paid order; cancelling an unpaid one is payments.cancel_order."""
    get(conn, order_id)
    if status != Status.SHIPPED or not move(
        conn,
        order_id,
        from_status=Status.PAID,
        to_status=Status.SHIPPED,
        actor=f"staff:{staff_id}",
        reason="shipped",
    ):
        raise invalid_status("Staff can only ship a paid order (2 -> 3) or cancel an unpaid one.")
    from chalicelib.services import refunds

    if refunds.refunding_all_of(conn, order_id):  # the move holds the row: no refund slips in
        raise Conflict(
            "All of this order is being refunded (the refund is pending); it will be cancelled.",
            code="refund_pending",
        )
    return get(conn, order_id)


# --- the expiry job ---------------------------------------------------------------------


def expire_unpaid_orders(begin: UnitOfWork, alipay: AlipayClient, now: datetime) -> str:
    """Cancel unpaid orders past expires_at and return their stock (job expire-orders).

    The one owner of expiry: an Alipay order's trade is closed first, and one Alipay
    says was paid is settled instead (payments.close_and_cancel). Each order in its own
    short units; the conditional move makes a second run (or two at once) harmless.
    While Alipay cannot be asked, the Alipay orders wait for the next run.
    """
    from chalicelib.adapters.alipay import AlipayUnavailable
    from chalicelib.services.payments import Cancellation, close_and_cancel

    with begin() as conn:
        due = conn.execute(
            select(orders.c.order_id, orders.c.pay_method)
            .where(orders.c.status == int(Status.UNPAID), orders.c.expires_at <= now)
            .order_by(orders.c.expires_at)
            .limit(EXPIRY_BATCH)
        ).all()
    outcomes: Counter[str] = Counter()
    alipay_down = False
    for order_id, pay_method in due:
        if alipay_down and pay_method == "alipay":
            outcomes["waiting"] += 1
            continue
        try:
            outcome = close_and_cancel(
                begin, alipay, order_id, actor="system", reason="not paid in time"
            )
            outcomes[outcome] += 1
        except AlipayUnavailable as exc:
            log.warning("order %s not expired, Alipay unavailable: %s", order_id, exc)
            alipay_down = True
            outcomes["waiting"] += 1
        except Exception:  # one order's trouble must not keep the rest from expiring
            log.exception("could not expire order %s; the next run retries", order_id)
            outcomes["failed"] += 1
    return (
        f"{outcomes[Cancellation.CANCELLED]} unpaid orders cancelled, "
        f"{outcomes[Cancellation.PAID_AT_ALIPAY]} paid at Alipay and settled, "
        f"{outcomes['waiting']} waiting for Alipay, {outcomes['failed']} failed"
    )
