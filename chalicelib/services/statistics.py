"""Dashboard statistics: exact counts per SHOP_TIMEZONE day, cheap at a million users.

How a number is computed:
- Days are the shop's days. A day becomes a UTC range ([start, end), clock.shop_day_bounds)
  and is counted with range conditions on indexed UTC columns; no DATE() or time-zone
  function is ever applied to a column, so every count is an index range scan.
- Per-day figures of several days come from ONE statement: a UNION ALL of one indexed
  range count per day (`_figures_by_day`), so the number of queries per endpoint is
  constant whatever the range.
- Past days are read from the daily_stats table that the hourly roll-up (`roll_up`)
  fills; today is computed live. A stored row is trusted only when it is final, i.e.
  written after its day ended; a day without a final row (yesterday between midnight and
  the next roll-up, or a day a missed run has not filled yet) is computed live too, so
  no figure is ever stale.

Definitions:
- new users of a day: users.date_joined within the day.
- active users of a day: users whose last login fell within the day. users.last_login
  only keeps the latest login, so a past day's figure cannot be recomputed later: a user
  who logged in on Monday and again on Tuesday no longer counts for Monday. The roll-up
  therefore captures the figure while the day is current (hourly) and once more right
  after it ends, and keeps the larger value (see `roll_up`).
- order users of a day: DISTINCT users who created an order within the day (the seed
  counted order rows).
- orders of a day: orders created within the day, whatever their status now.
- paid orders and GMV of a day: orders whose payment arrived within the day (paid_at),
  and the sum of their payment_amount in fen. Payment time, not creation time: the money
  came in that day, and once the day is over its figure never changes, so the roll-up
  can freeze it (an order created on Monday and paid on Tuesday counts as paid on
  Tuesday).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    Select,
    and_,
    bindparam,
    distinct,
    exists,
    func,
    literal,
    select,
    union_all,
)

from chalicelib.clock import shop_day_bounds, shop_today
from chalicelib.db.tables import (
    UtcDateTime,
    categories,
    daily_category_views,
    daily_stats,
    orders,
    users,
)

# The catalogue increments this hash on every category list view: field str(category_id)
# -> count, one hash per shop day (YYYY-MM-DD).
from chalicelib.integers import positive_counts
from chalicelib.services.catalog import CATEGORY_VIEWS_KEY

if TYPE_CHECKING:
    from redis import Redis

MONTH_DAYS = 30
MAX_REPORT_DAYS = 366
# How far back the roll-up fills days that have no final row: every day a report can
# show, so after one run no report has to count a past day live.
ROLLUP_BACKFILL_DAYS = MAX_REPORT_DAYS


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class DaySales:
    day: date
    orders: int
    paid_orders: int
    gmv: int  # fen


@dataclass(frozen=True)
class CategoryViews:
    category_id: int
    category: str
    count: int


@dataclass(frozen=True)
class RollUp:
    days: list[date]  # the days written, oldest first (today is always the last)


# --- the dashboard's single numbers ------------------------------------------------------


def user_count(conn: Connection, *, now: datetime, tz: ZoneInfo) -> DayCount:
    """All users, as of today, without counting every user: one statement.

    The last final day's users_total (users who had joined by that day's end, kept by
    the roll-up) plus the users who joined since, an index range on date_joined. Users
    are never deleted and date_joined is the sign-up instant, so the sum is exact. The
    final day is yesterday, or the day before while yesterday's row is not final yet
    (until the first roll-up after midnight). With neither final (the roll-up has not
    run for a day or more), every user is counted: exact, only slower.
    """
    today = shop_today(tz, now)
    params: dict[str, Any] = {}
    for index in range(FINAL_DAY_CANDIDATES):
        day = today - timedelta(days=index + 1)
        params[f"day_{index}"] = day
        params[f"end_{index}"] = shop_day_bounds(day, tz)[1]
    total = conn.scalar(_users_since_final_day(), params)
    if total is None:
        total = conn.scalar(select(func.count()).select_from(users))
    return DayCount(today, int(total or 0))


# Days user_count looks back for a final users_total: yesterday, then the day before.
FINAL_DAY_CANDIDATES = 2


@functools.cache
def _users_since_final_day() -> Select[Any]:
    """users_total of the first final day among day_0, day_1, ... plus the users who
    joined after that day's end (end_N); no row when none is final. Each candidate's
    part yields only when no earlier one is final, so the statement counts one range of
    users. Built once per process (SQLAlchemy then finds its compiled form by cache key),
    values bound at execution."""
    newer = daily_stats.alias("newer")

    def final(table: Any, index: int) -> ColumnElement[bool]:
        end = bindparam(f"end_{index}", type_=UtcDateTime)
        return and_(
            table.c.day == bindparam(f"day_{index}", type_=Date),
            table.c.updated_at >= end,  # written after the day ended
            table.c.users_total.is_not(None),
        )

    parts = []
    for index in range(FINAL_DAY_CANDIDATES):
        joined_since = (
            select(func.count())
            .select_from(users)
            .where(users.c.date_joined >= bindparam(f"end_{index}", type_=UtcDateTime))
        ).scalar_subquery()
        parts.append(
            select((daily_stats.c.users_total + joined_since).label("total")).where(
                final(daily_stats, index),
                *(~exists().where(final(newer, earlier)) for earlier in range(index)),
            )
        )
    return union_all(*parts)  # type: ignore[return-value]


def new_users_today(conn: Connection, *, now: datetime, tz: ZoneInfo) -> DayCount:
    """Users who joined today."""
    return _today(conn, NEW_USERS, now=now, tz=tz)


def active_users_today(conn: Connection, *, now: datetime, tz: ZoneInfo) -> DayCount:
    """Users whose last login is today."""
    return _today(conn, ACTIVE_USERS, now=now, tz=tz)


def order_users_today(conn: Connection, *, now: datetime, tz: ZoneInfo) -> DayCount:
    """Distinct users who placed at least one order today (not the number of orders)."""
    today = shop_today(tz, now)
    figures = _figures_by_day(conn, ORDERS_CREATED, [today], tz)
    return DayCount(today, figures[today]["order_users"])


def _today(conn: Connection, source: _Source, *, now: datetime, tz: ZoneInfo) -> DayCount:
    today = shop_today(tz, now)
    (name,) = source.names
    return DayCount(today, _figures_by_day(conn, source, [today], tz)[today][name])


# --- day series ----------------------------------------------------------------------


def new_users_by_day(
    conn: Connection, *, now: datetime, tz: ZoneInfo, days: int = MONTH_DAYS
) -> list[DayCount]:
    """Users who joined on each of the last `days` days, oldest first, the last is today.

    At most two queries: past days from daily_stats, then today (and any past day without
    a final row) live.
    """
    window = report_window(shop_today(tz, now), days)
    figures = _stored_or_live(conn, window, tz, [NEW_USERS])
    return [DayCount(day, figures[day]["new_users"]) for day in window]


def sales_by_day(conn: Connection, *, now: datetime, tz: ZoneInfo, days: int) -> list[DaySales]:
    """Orders created, orders paid and GMV (fen) on each of the last `days` days, oldest
    first, the last is today. At most three queries whatever `days` is."""
    window = report_window(shop_today(tz, now), days)
    figures = _stored_or_live(conn, window, tz, [ORDERS_CREATED, ORDERS_PAID])
    return [
        DaySales(day, figures[day]["orders"], figures[day]["paid_orders"], figures[day]["gmv"])
        for day in window
    ]


def report_window(today: date, days: int) -> list[date]:
    """The `days` days ending today, oldest first."""
    if not 1 <= days <= MAX_REPORT_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_REPORT_DAYS}, got {days}")
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def is_final(day: date, updated_at: datetime, tz: ZoneInfo) -> bool:
    """A stored day is final when it was written after the day ended: nothing that day
    can still change it (apart from active users; see the module doc)."""
    return updated_at >= shop_day_bounds(day, tz)[1]


def _stored_or_live(
    conn: Connection, window: list[date], tz: ZoneInfo, sources: Sequence[_Source]
) -> dict[date, dict[str, int]]:
    names = [name for source in sources for name in source.names]
    figures: dict[date, dict[str, int]] = {}
    past = window[:-1]
    if past:
        stored = conn.execute(_stored_days(tuple(names)), {"first": past[0], "last": past[-1]})
        for row in stored:
            if is_final(row.day, row.updated_at, tz):
                figures[row.day] = {name: int(row._mapping[name]) for name in names}
    live_days = [day for day in window if day not in figures]
    for source in sources:
        for day, values in _figures_by_day(conn, source, live_days, tz).items():
            figures.setdefault(day, {}).update(values)
    return figures


@functools.lru_cache(maxsize=8)
def _stored_days(names: tuple[str, ...]) -> Select[Any]:
    """The daily_stats rows of the days `first` to `last` with the named figures. Built
    once per set of names, values bound at execution."""
    return select(daily_stats.c.day, daily_stats.c.updated_at, *daily_stats.c[names]).where(
        daily_stats.c.day >= bindparam("first", type_=Date),
        daily_stats.c.day <= bindparam("last", type_=Date),
    )


# --- live counting -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # compared (and cached) by identity: its fields are SQL
class _Source:
    """Figures counted over one indexed UTC time column; `names` are daily_stats columns."""

    time_column: Column[Any]
    names: tuple[str, ...]
    aggregates: tuple[Any, ...]


NEW_USERS = _Source(users.c.date_joined, ("new_users",), (func.count(),))
ACTIVE_USERS = _Source(users.c.last_login, ("active_users",), (func.count(),))
# Both counts are index-only on ix_orders_create_time_user_id.
ORDERS_CREATED = _Source(
    orders.c.create_time,
    ("orders", "order_users"),
    (func.count(), func.count(distinct(orders.c.user_id))),
)
# Index-only on ix_orders_paid_at_payment_amount.
ORDERS_PAID = _Source(
    orders.c.paid_at,
    ("paid_orders", "gmv"),
    (func.count(), func.coalesce(func.sum(orders.c.payment_amount), 0)),
)
ROLLUP_SOURCES = (NEW_USERS, ACTIVE_USERS, ORDERS_CREATED, ORDERS_PAID)


def day_figures_query(source: _Source, days: Sequence[date], tz: ZoneInfo) -> Select[Any]:
    """The statement `_figures_by_day` runs, with its values bound (to read or EXPLAIN it)."""
    return _day_figures_statement(source, len(days)).params(_day_bounds(days, tz))


@functools.lru_cache(maxsize=32)
def _day_figures_statement(source: _Source, count: int) -> Select[Any]:
    """One statement giving one row per day: (day index, *aggregates), day N an index
    range count `time_column >= start_N AND time_column < end_N` in UTC. Built once per
    source and number of days (SQLAlchemy then finds its compiled form by cache key
    without building the construct again), values bound at execution."""
    table = source.time_column.table
    moment = source.time_column.type
    parts = [
        select(literal(index).label("day_index"), *source.aggregates)
        .select_from(table)
        .where(
            source.time_column >= bindparam(f"start_{index}", type_=moment),
            source.time_column < bindparam(f"end_{index}", type_=moment),
        )
        for index in range(count)
    ]
    if len(parts) == 1:
        return parts[0]
    return union_all(*parts)  # type: ignore[return-value]


def _day_bounds(days: Sequence[date], tz: ZoneInfo) -> dict[str, datetime]:
    bounds = {}
    for index, day in enumerate(days):
        bounds[f"start_{index}"], bounds[f"end_{index}"] = shop_day_bounds(day, tz)
    return bounds


def _figures_by_day(
    conn: Connection, source: _Source, days: Sequence[date], tz: ZoneInfo
) -> dict[date, dict[str, int]]:
    if not days:
        return {}
    figures = {}
    statement = _day_figures_statement(source, len(days))
    for row in conn.execute(statement, _day_bounds(days, tz)):
        index, *values = row
        figures[days[int(index)]] = {
            name: int(value or 0) for name, value in zip(source.names, values, strict=True)
        }
    return figures


# --- category views --------------------------------------------------------------------


def category_views_today(
    conn: Connection, redis: Redis, *, now: datetime, tz: ZoneInfo
) -> list[CategoryViews]:
    """Today's category list views from the catalogue's Redis counters, with the
    categories' names (one query), most viewed first."""
    counts = _category_view_counts(redis, shop_today(tz, now))
    if not counts:
        return []
    names = dict(
        conn.execute(
            select(categories.c.id, categories.c.name).where(categories.c.id.in_(counts))
        ).all()
    )
    views = [
        CategoryViews(category_id, names[category_id], count)
        for category_id, count in counts.items()
        if category_id in names  # a category deleted since is not shown
    ]
    return sorted(views, key=lambda v: (-v.count, v.category_id))


def _category_view_counts(redis: Redis, day: date) -> dict[int, int]:
    raw: dict[str, str] = redis.hgetall(CATEGORY_VIEWS_KEY.format(day=day.isoformat()))  # type: ignore[assignment]
    return positive_counts(raw)


# --- the roll-up -------------------------------------------------------------------------


def roll_up(
    conn: Connection,
    redis: Redis,
    *,
    now: datetime,
    tz: ZoneInfo,
    backfill_days: int = ROLLUP_BACKFILL_DAYS,
) -> RollUp:
    """Write one daily_stats row (and the daily_category_views rows) for today and for
    every day of the last `backfill_days` that has no final row yet.

    Run hourly. Re-running is harmless: rows are upserted, and a day that is final is
    not touched again. A missed run is made up by the next: the days it would have
    finalised still have no final row. The figures of all pending days come from one
    statement per source (see the module doc), so a long backfill costs four queries,
    not four per day.

    Active users: last_login only keeps each user's latest login, so the live count of a
    day can only grow while the day is current and only shrink after it (users move on
    to later days). Each run keeps the larger of the stored and the live count; the run
    after midnight finalises yesterday with the larger of its last hourly capture and a
    recount. What can be missed is a user whose only logins that day fell after the last
    hourly run AND who logged in again before the first run of the next day; days before
    the first roll-up ever run only count each user's latest login.
    """
    today = shop_today(tz, now)
    window = report_window(today, backfill_days)
    stored = {
        row.day: row
        for row in conn.execute(
            select(daily_stats).where(daily_stats.c.day >= window[0], daily_stats.c.day <= today)
        )
    }
    pending = [
        day for day in window if day not in stored or not is_final(day, stored[day].updated_at, tz)
    ]
    figures: dict[date, dict[str, int]] = {day: {} for day in pending}
    for source in ROLLUP_SOURCES:
        for day, values in _figures_by_day(conn, source, pending, tz).items():
            figures[day].update(values)
    totals = _users_totals(conn, window, figures, stored, tz)
    rows = []
    for day in pending:
        values = figures[day]
        if day in stored:
            values["active_users"] = max(values["active_users"], stored[day].active_users)
        rows.append({"day": day, **values, "users_total": totals[day], "updated_at": now})
    _upsert(conn, daily_stats, rows, keys=("day",))
    _roll_up_category_views(conn, redis, pending)
    return RollUp(pending)


def _users_totals(
    conn: Connection,
    window: list[date],
    figures: dict[date, dict[str, int]],
    stored: dict[date, Any],
    tz: ZoneInfo,
) -> dict[date, int]:
    """Users who had joined by the end of each day of the window, from ONE count: the
    users joined by the end of today, then back day by day less each day's new users
    (counted by this run, or stored in the day's final row)."""
    total = int(
        conn.scalar(
            select(func.count())
            .select_from(users)
            .where(users.c.date_joined < shop_day_bounds(window[-1], tz)[1])
        )
        or 0
    )
    totals = {}
    for day in reversed(window):
        totals[day] = total
        new_users = figures[day]["new_users"] if figures.get(day) else stored[day].new_users
        total -= int(new_users)
    return totals


def _roll_up_category_views(conn: Connection, redis: Redis, days: list[date]) -> None:
    """Copy each day's Redis view counters into daily_category_views.

    Counters only grow within a day, so the larger of the stored and the Redis count is
    kept: a Redis that lost its data (failover, expired key) never lowers a stored figure.
    """
    pipe = redis.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(CATEGORY_VIEWS_KEY.format(day=day.isoformat()))
    counts_by_day = {
        day: positive_counts(raw) for day, raw in zip(days, pipe.execute(), strict=True)
    }
    counts_by_day = {day: counts for day, counts in counts_by_day.items() if counts}
    if not counts_by_day:
        return
    category_ids = {cid for counts in counts_by_day.values() for cid in counts}
    existing_categories = set(
        conn.scalars(select(categories.c.id).where(categories.c.id.in_(category_ids)))
    )
    stored = {
        (day, category_id): count
        for day, category_id, count in conn.execute(
            select(
                daily_category_views.c.day,
                daily_category_views.c.category_id,
                daily_category_views.c.count,
            ).where(daily_category_views.c.day.in_(counts_by_day))
        )
    }
    rows = [
        {
            "day": day,
            "category_id": category_id,
            "count": max(count, stored.get((day, category_id), 0)),
        }
        for day, counts in counts_by_day.items()
        for category_id, count in counts.items()
        if category_id in existing_categories
    ]
    _upsert(conn, daily_category_views, rows, keys=("day", "category_id"))


def _upsert(
    conn: Connection, table: Any, rows: list[dict[str, Any]], *, keys: tuple[str, ...]
) -> None:
    """Insert rows, or overwrite the ones whose key exists (SQLite and MySQL/MariaDB)."""
    if not rows:
        return
    value_columns = [name for name in rows[0] if name not in keys]
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        sqlite_stmt = sqlite_insert(table)
        statement: Any = sqlite_stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: sqlite_stmt.excluded[name] for name in value_columns},
        )
    else:
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        mysql_stmt = mysql_insert(table)
        statement = mysql_stmt.on_duplicate_key_update(
            {name: mysql_stmt.inserted[name] for name in value_columns}
        )
    conn.execute(statement, rows)


def rollup_stats(conn: Connection, redis: Redis, *, now: datetime, tz: ZoneInfo) -> str:
    """The scheduled job (`manage.py runjob rollup-stats`): roll up now, in one unit."""
    result = roll_up(conn, redis, now=now, tz=tz)
    return f"rolled up {len(result.days)} day(s), {result.days[0]} to {result.days[-1]}"
