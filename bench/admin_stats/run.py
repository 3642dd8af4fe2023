"""Admin statistics and users/?keyword= at a million users and orders, ours vs the seed's.

    scripts/with-test-servers .venv/bin/python -m bench.admin_stats.run [--write]

Creates its own database on TEST_DATABASE_URL's MariaDB, migrates it with
`manage.py migrate`, fills it with `manage.py generate --users N --skus S --orders N`,
then times each endpoint's work (p50/p95 of --runs runs after one warm-up) and counts
the statements each sends (SQLAlchemy before_cursor_execute), in three phases:

1. ours before any roll-up (every past day counted live),
2. the roll-up itself (`rollup-stats`, first run: 366 days),
3. ours after the roll-up (past days read from daily_stats), next to the seed's
   algorithms (meiduo's Django admin views, as SQL) on the same data.

"Ours" is the service call a view makes; one full HTTP request per endpoint (through
chalice's test client, JWT auth included: +1 query) is timed as well. --write replaces
the `## admin_stats` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import app_environment, percentile

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DATABASE = "bench_admin_stats"
BUFFER_POOL_BYTES = 2 * 1024**3
KEYWORDS = {
    "common": "wang",  # a pinyin prefix: about 1 user in 12
    "one character": "w",
    "two characters": "ng",
    "rare": "77777",  # a digit run inside a few user ids
    "none": "nobody",
    "wildcard": "_",  # literal: no generated username has one
}


@dataclass
class Measure:
    queries: int
    p50_ms: float
    p95_ms: float
    value: Any = None
    samples: list[float] = field(default_factory=list)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def measure(counter: QueryCounter, runs: int, call: Callable[[], Any]) -> Measure:
    call()  # warm-up: caches, connection
    samples = []
    queries = 0
    value = None
    for _ in range(runs):
        counter.count = 0
        started = time.perf_counter()
        value = call()
        samples.append((time.perf_counter() - started) * 1000)
        queries = counter.count
    return Measure(queries, percentile(samples, 0.5), percentile(samples, 0.95), value, samples)


# --- the seed's algorithms (meiduo admin, Django ORM), as the SQL they send ---------------


def seed_algorithms(server_today: date, shop_day: date) -> dict[str, Callable[[Any], Any]]:
    """`date.today()` in the server's clock zone (UTC on Lambda), compared as midnight UTC.
    goods_day_views reads the rolled-up views of the shop day (the seed's table stood in
    for by daily_category_views), so that both sides list the same rows."""
    from sqlalchemy import text

    midnight = datetime.combine(server_today, datetime.min.time())

    def total_count(conn: Any) -> int:
        return int(conn.execute(text("SELECT COUNT(*) AS __count FROM users")).scalar())

    def day_active(conn: Any) -> int:
        sql = "SELECT COUNT(*) AS __count FROM users WHERE last_login >= :d"
        return int(conn.execute(text(sql), {"d": midnight}).scalar())

    def day_increment(conn: Any) -> int:
        sql = "SELECT COUNT(*) AS __count FROM users WHERE date_joined >= :d"
        return int(conn.execute(text(sql), {"d": midnight}).scalar())

    def day_orders(conn: Any) -> int:
        # User.objects.filter(orders__create_time__gte=today).count(): one row per ORDER.
        sql = (
            "SELECT COUNT(*) AS __count FROM users INNER JOIN orders"
            " ON users.id = orders.user_id WHERE orders.create_time >= :d"
        )
        return int(conn.execute(text(sql), {"d": midnight}).scalar())

    def month_increment(conn: Any) -> list[int]:
        sql = (
            "SELECT COUNT(*) AS __count FROM users"
            " WHERE date_joined >= :start AND date_joined < :end"
        )
        first = midnight - timedelta(days=29)
        return [
            int(
                conn.execute(
                    text(sql),
                    {"start": first + timedelta(days=i), "end": first + timedelta(days=i + 1)},
                ).scalar()
            )
            for i in range(30)
        ]

    def goods_day_views(conn: Any) -> int:
        # GoodsVisitCount.objects.filter(date=today) with a StringRelatedField category:
        # one query for the rows, then one per row for its category (no select_related).
        rows = conn.execute(
            text("SELECT category_id, count FROM daily_category_views WHERE day = :d"),
            {"d": shop_day},
        ).all()
        named = [
            (
                conn.execute(
                    text("SELECT id, name, parent_id FROM categories WHERE id = :i"), {"i": cid}
                ).one()[1],
                count,
            )
            for cid, count in rows
        ]
        return len(named)

    return {
        "total_count": total_count,
        "day_active": day_active,
        "day_orders": day_orders,
        "day_increment": day_increment,
        "month_increment": month_increment,
        "goods_day_views": goods_day_views,
    }


def seed_user_search(conn: Any, keyword: str) -> tuple[int, int]:
    """username__contains (Django escapes % and _) + the paginator: COUNT, then a page of
    every column (password hash included), unordered."""
    from sqlalchemy import text

    pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    count = conn.execute(
        text("SELECT COUNT(*) AS __count FROM users WHERE username LIKE BINARY :p"), {"p": pattern}
    ).scalar()
    page = conn.execute(
        text("SELECT * FROM users WHERE username LIKE BINARY :p LIMIT 10"), {"p": pattern}
    ).all()
    return int(count), len(page)


def scan_user_search(conn: Any, keyword: str) -> int:
    """The search before the username index (commit 6acfb58's admin_users.find_users): a
    LIKE '%kw%' scan for the page, ordered by id, then a second scan to count unless the
    page is the last. Kept here as the "before" column, run on the same data."""
    from sqlalchemy import func, select

    from chalicelib.db.tables import users
    from chalicelib.services.admin_users import LISTED_COLUMNS

    condition = users.c.username.contains(keyword, autoescape=True)
    listed = select(*LISTED_COLUMNS).where(condition).order_by(users.c.id).limit(10)
    rows = list(conn.execute(listed).all())
    if 0 < len(rows) < 10 or not rows:
        return len(rows)
    return int(conn.scalar(select(func.count()).select_from(users).where(condition)) or 0)


def sales_totals(series: list[Any]) -> str:
    """orders / paid orders / GMV summed over the days, to compare both sides."""
    orders = sum(d.orders for d in series)
    paid = sum(d.paid_orders for d in series)
    gmv = sum(d.gmv for d in series)
    return f"{orders} / {paid} / {gmv / 100:.2f}"


def naive_sales(conn: Any, today: date, tz: Any, days: int) -> str:
    """A per-day loop in the seed's month_increment style (2 queries per day), for scale."""
    from sqlalchemy import func, select

    from chalicelib.clock import shop_day_bounds
    from chalicelib.db.tables import orders

    created = paid = gmv = 0
    for offset in range(days):
        start, end = shop_day_bounds(today - timedelta(days=offset), tz)
        created += conn.scalar(
            select(func.count()).where(orders.c.create_time >= start, orders.c.create_time < end)
        )
        count, amount = conn.execute(
            select(func.count(), func.sum(orders.c.payment_amount)).where(
                orders.c.paid_at >= start, orders.c.paid_at < end
            )
        ).one()
        paid += count
        gmv += amount or 0
    return f"{created} / {paid} / {gmv / 100:.2f}"


# --- setup ---------------------------------------------------------------------------------


def prepare_database(args: argparse.Namespace) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    server_url = os.environ["TEST_DATABASE_URL"]
    server = create_engine(server_url)
    with server.begin() as conn:
        conn.execute(text(f"SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL_BYTES}"))
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4"))
        version = conn.execute(text("SELECT VERSION()")).scalar()
    server.dispose()
    url = server_url.rstrip("/") + f"/{DATABASE}?charset=utf8mb4"
    env = {**os.environ, "DATABASE_URL": url, "SHOP_STAGE": "local"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate"], env=env, check=True, cwd=ROOT)
    started = time.perf_counter()
    generated = subprocess.run(
        [
            *manage,
            "generate",
            "--users",
            str(args.users),
            "--skus",
            str(args.skus),
            "--orders",
            str(args.orders),
        ],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(generated.stdout.strip(), f"(wall {time.perf_counter() - started:.0f} s)", flush=True)
    return url, str(version)


def seed_category_views(today: date) -> int:
    from sqlalchemy import select

    from chalicelib import resources
    from chalicelib.db.engine import engine
    from chalicelib.db.tables import categories
    from chalicelib.services.statistics import CATEGORY_VIEWS_KEY

    with engine().connect() as conn:
        ids = list(conn.scalars(select(categories.c.id)))
    rng = random.Random(7)
    resources.redis().delete(CATEGORY_VIEWS_KEY.format(day=today.isoformat()))
    if ids:
        resources.redis().hset(
            CATEGORY_VIEWS_KEY.format(day=today.isoformat()),
            mapping={str(i): rng.randint(1, 5000) for i in ids},
        )
    return len(ids)


def explain(conn: Any, statement: Any) -> str:
    from sqlalchemy import text

    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    rows = conn.execute(text("EXPLAIN " + str(compiled))).mappings().all()
    return "; ".join(
        f"{r['table']}: {r['type']} on {r['key']} ({r['Extra'] or '-'}), rows~{r['rows']}"
        for r in rows
    )


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    url, version = prepare_database(args)
    app_environment(url, "bench-admin-stats-")

    from chalice.test import Client
    from sqlalchemy import event, func, select

    from app import app
    from chalicelib import resources
    from chalicelib.clock import shop_today, utcnow
    from chalicelib.config import settings
    from chalicelib.db.engine import engine, transaction
    from chalicelib.db.tables import daily_stats, orders, username_terms, users
    from chalicelib.pagination import PageRequest
    from chalicelib.services import accounts, admin_users, statistics
    from chalicelib.services.username_terms import LIKE_ESCAPE, prefix_pattern

    tz = settings().shop_timezone
    first_page = PageRequest(1, 10)
    now = utcnow()
    today = shop_today(tz, now)
    server_today = now.astimezone(UTC).date()
    counter = QueryCounter()
    event.listen(engine(), "before_cursor_execute", counter)
    with transaction() as conn:
        # A superuser: the figures measure the routes, not the permission check (one
        # query more for other staff, see docs/ARCHITECTURE.md "Staff permissions").
        staff = accounts.register(
            conn,
            username="benchstaff",
            password="bench-pass-1",
            mobile=None,
            is_staff=True,
            is_superuser=True,
        )
        sizes = {
            "users": conn.scalar(select(func.count()).select_from(users)),
            "orders": conn.scalar(select(func.count()).select_from(orders)),
            "username_terms": conn.scalar(select(func.count()).select_from(username_terms)),
        }
    categories_viewed = seed_category_views(today)
    headers = {"Authorization": f"Bearer {accounts.token_for(staff)}"}
    redis = resources.redis()

    def ours(call: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with engine().connect() as conn:
                return call(conn)

        return run

    our_calls: dict[str, Callable[[Any], Any]] = {
        "total_count": lambda c: statistics.user_count(c, now=now, tz=tz).count,
        "day_active": lambda c: statistics.active_users_today(c, now=now, tz=tz).count,
        "day_orders": lambda c: statistics.order_users_today(c, now=now, tz=tz).count,
        "day_increment": lambda c: statistics.new_users_today(c, now=now, tz=tz).count,
        "month_increment": lambda c: [
            d.count for d in statistics.new_users_by_day(c, now=now, tz=tz)
        ],
        "goods_day_views": lambda c: len(statistics.category_views_today(c, redis, now=now, tz=tz)),
        "sales?days=30": lambda c: sales_totals(
            statistics.sales_by_day(c, now=now, tz=tz, days=30)
        ),
        "sales?days=366": lambda c: sales_totals(
            statistics.sales_by_day(c, now=now, tz=tz, days=366)
        ),
    }
    paths = {
        "total_count": "/meiduo_admin/statistical/total_count/",
        "day_active": "/meiduo_admin/statistical/day_active/",
        "day_orders": "/meiduo_admin/statistical/day_orders/",
        "day_increment": "/meiduo_admin/statistical/day_increment/",
        "month_increment": "/meiduo_admin/statistical/month_increment/",
        "goods_day_views": "/meiduo_admin/statistical/goods_day_views/",
        "sales?days=30": "/meiduo_admin/statistical/sales/?days=30",
        "sales?days=366": "/meiduo_admin/statistical/sales/?days=366",
    }

    print(f"MariaDB {version}; {sizes}; today {today} ({tz.key}), server date {server_today}")
    before = {name: measure(counter, args.runs, ours(call)) for name, call in our_calls.items()}
    for name, m in before.items():
        print(
            f"before roll-up {name:16} {m.queries:3} q p50 {m.p50_ms:8.1f} ms p95 {m.p95_ms:8.1f}"
        )

    counter.count = 0
    started = time.perf_counter()
    with transaction() as conn:
        rolled = statistics.roll_up(conn, redis, now=now, tz=tz)
    rollup_ms = (time.perf_counter() - started) * 1000
    rollup_queries = counter.count
    counter.count = 0
    started = time.perf_counter()
    with transaction() as conn:
        statistics.roll_up(conn, redis, now=now + timedelta(minutes=60), tz=tz)
    hourly_ms = (time.perf_counter() - started) * 1000
    hourly_queries = counter.count
    print(
        f"roll-up: {len(rolled.days)} days in {rollup_ms:.0f} ms, {rollup_queries} queries; "
        f"next hourly run {hourly_ms:.0f} ms, {hourly_queries} queries"
    )
    with engine().connect() as conn:
        stored_days = conn.scalar(select(func.count()).select_from(daily_stats))

    seeds = seed_algorithms(server_today, today)
    seeds["sales?days=30"] = lambda c: naive_sales(c, today, tz, 30)
    seeds["sales?days=366"] = lambda c: naive_sales(c, today, tz, 366)
    after: dict[str, Measure] = {}
    seed: dict[str, Measure] = {}
    requests: dict[str, Measure] = {}
    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:

        def http(path: str) -> Callable[[], Any]:
            def run() -> Any:
                response = client.http.get(path, headers=headers)
                assert response.status_code == 200, response.body
                return None

            return run

        # Endpoint by endpoint, ours, the seed's and the request back to back, so that the
        # three see the same machine (it is shared with other work).
        for name, call in our_calls.items():
            after[name] = measure(counter, args.runs, ours(call))
            seed[name] = measure(counter, args.runs, ours(seeds[name]))
            requests[name] = measure(counter, args.runs, http(paths[name]))
        user_rows = {}
        for label, keyword in KEYWORDS.items():
            our = measure(
                counter,
                args.runs,
                ours(lambda c, k=keyword: admin_users.find_users(c, keyword=k, page=first_page)[1]),
            )
            theirs = measure(
                counter, args.runs, ours(lambda c, k=keyword: seed_user_search(c, k)[0])
            )
            scanned = measure(counter, args.runs, ours(lambda c, k=keyword: scan_user_search(c, k)))
            request = measure(counter, args.runs, http(f"/meiduo_admin/users/?keyword={keyword}"))
            user_rows[label] = (keyword, our, theirs, request, scanned)

    with engine().connect() as conn:
        collations = {
            collation: measure(
                counter,
                args.runs,
                ours(
                    lambda c, collation=collation: c.scalar(
                        select(func.count())
                        .select_from(users)
                        .where(
                            users.c.username.collate(collation).contains("wang", autoescape=True)
                        )
                    )
                ),
            )
            for collation in ("utf8mb4_unicode_ci", "utf8mb4_general_ci", "utf8mb4_bin")
        }
        plans = {
            "day_orders": explain(
                conn, statistics.day_figures_query(statistics.ORDERS_CREATED, [today], tz)
            ),
            "paid today": explain(
                conn, statistics.day_figures_query(statistics.ORDERS_PAID, [today], tz)
            ),
            "day_active": explain(
                conn, statistics.day_figures_query(statistics.ACTIVE_USERS, [today], tz)
            ),
            "users keyword": explain(
                conn,
                select(func.count())
                .select_from(users)
                .where(users.c.username.contains("wang", autoescape=True)),
            ),
            "users keyword, index count": explain(
                conn,
                select(func.count(username_terms.c.user_id.distinct())).where(
                    username_terms.c.term.like(prefix_pattern("wang"), escape=LIKE_ESCAPE)
                ),
            ),
            "users keyword, index page": explain(
                conn,
                select(*admin_users.LISTED_COLUMNS)
                .where(
                    users.c.id.in_(
                        select(username_terms.c.user_id).where(
                            username_terms.c.term.like(prefix_pattern("wang"), escape=LIKE_ESCAPE)
                        )
                    )
                )
                .order_by(users.c.id)
                .limit(10),
            ),
        }

    report = render(
        args,
        version,
        sizes,
        today,
        server_today,
        tz.key,
        categories_viewed,
        before,
        after,
        seed,
        requests,
        user_rows,
        (len(rolled.days), rollup_ms, rollup_queries, stored_days),
        (hourly_ms, hourly_queries),
        plans,
        collations,
    )
    print(report)
    if args.write:
        write_section(report)


def fmt(m: Measure) -> str:
    return f"{m.queries} | {m.p50_ms:.1f} | {m.p95_ms:.1f}"


def short(value: Any) -> str:
    if isinstance(value, list):
        return f"[{value[0]}, {value[1]}, ... {value[-2]}, {value[-1]}]"
    return str(value)


def render(
    args: argparse.Namespace,
    version: str,
    sizes: dict[str, Any],
    today: date,
    server_today: date,
    zone: str,
    categories_viewed: int,
    before: dict[str, Measure],
    after: dict[str, Measure],
    seed: dict[str, Measure],
    requests: dict[str, Measure],
    user_rows: dict[str, Any],
    rollup: tuple[int, float, int, int],
    hourly: tuple[float, int],
    plans: dict[str, str],
    collations: dict[str, Measure],
) -> str:
    lines = [
        "## admin_stats",
        "",
        f"`scripts/with-test-servers .venv/bin/python -m bench.admin_stats.run --write` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC). MariaDB {version} on this 2-core machine, "
        f"innodb_buffer_pool_size {BUFFER_POOL_BYTES // 1024**3} GiB; data from "
        f"`manage.py generate --users {args.users} --skus {args.skus} --orders {args.orders}` "
        f"({sizes['users']} users, {sizes['orders']} orders over 60 days); shop day {today} "
        f"({zone}), the seed's server date {server_today} (UTC clock). {args.runs} runs after "
        f"one warm-up; times in ms; q = statements sent.",
        "",
        "Ours = the service call the view makes (after the roll-up: past days from "
        "daily_stats); request = the whole HTTP request through chalice's test client "
        "(JWT auth adds 1 query); seed = meiduo admin's algorithm as the SQL Django sends "
        "(sales has no seed: a per-day loop in the seed's month_increment style instead). "
        "Values: the count; month_increment its first two and last two days; goods_day_views "
        "the rows listed; sales orders / paid orders / GMV (yuan) summed over the days.",
        "",
        "| endpoint | ours q | ours p50 | ours p95 | request q | request p50 | seed q | seed p50 "
        "| seed p95 | ours value | seed value |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in after.items():
        s = seed[name]
        r = requests[name]
        lines.append(
            f"| {name} | {fmt(m)} | {r.queries} | {r.p50_ms:.1f} | {fmt(s)} "
            f"| {short(m.value)} | {short(s.value)} |"
        )
    lines += [
        "",
        "users/?keyword= (page 1, pagesize 10): ours = the username suffix index "
        "(services/username_terms.py, migration 0013: `term LIKE 'kw%'`, a primary-key "
        "range; a probe of 2,000 entries tells rare keywords, read and counted exactly through "
        "it, from common ones, whose page is read in id order with the LIKE and whose count "
        "stops at 10,000 users), ordered by id, count skipped when the page is the last; "
        "scan = the search before the index (case-insensitive LIKE '%kw%' with escaped "
        "wildcards over every username, same page and count rule), on the same data in the "
        "same run; seed = LIKE BINARY count + an unordered page of every column.",
        "",
        "| keyword | ours q | ours p50 | ours p95 | request p50 | scan q | scan p50 | scan p95 "
        "| seed q | seed p50 | seed p95 | ours count | scan count | seed count |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, (keyword, our, theirs, request, scanned) in user_rows.items():
        lines.append(
            f"| `{keyword}` ({label}) | {fmt(our)} | {request.p50_ms:.1f} | {fmt(scanned)} "
            f"| {fmt(theirs)} | {our.value} | {scanned.value} | {theirs.value} |"
        )
    days, rollup_ms, rollup_queries, stored = rollup
    lines += [
        "",
        f"Roll-up (`rollup-stats`): first run {days} days in {rollup_ms:.0f} ms with "
        f"{rollup_queries} statements ({stored} daily_stats rows); the next hourly run "
        f"(today only) {hourly[0]:.0f} ms with {hourly[1]} statements.",
        "",
        "Before any roll-up (every past day counted live, still one statement per source):",
        "",
        "| endpoint | q | p50 | p95 |",
        "|---|---|---|---|",
    ]
    for name in ("month_increment", "sales?days=30", "sales?days=366"):
        m = before[name]
        lines.append(f"| {name} | {fmt(m)} |")
    lines += [
        "",
        "The keyword count is a full scan of the username index whatever the collation; "
        "what the comparison costs (COUNT of `%wang%`):",
        "",
        "| collation | p50 | p95 |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {m.p50_ms:.1f} | {m.p95_ms:.1f} |" for name, m in collations.items()]
    lines += ["", "Query plans (EXPLAIN, today's figures):", ""]
    lines += [f"- {name}: {plan}" for name, plan in plans.items()]
    lines.append(f"- goods_day_views: {categories_viewed} categories in today's Redis hash")
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find("## admin_stats\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
