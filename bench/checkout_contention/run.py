"""Checkout on one hot SKU: our conditional stock update next to the seeds' compare-and-retry-3.

    scripts/with-test-servers .venv/bin/python -m bench.checkout_contention.run [--write]

Creates its own database on TEST_DATABASE_URL's MariaDB (migrated with Alembic) and
uses TEST_REDIS_URL for the carts. For each crowd size (50 and 200 buyers) and each
algorithm, in the same run, --rounds times: the SKU gets `crowd // 2` units, every
buyer has one unit selected in the cart, and all buyers check out at once (threads
released by a barrier, one database connection each, READ COMMITTED as the app).

- ours: `services.orders.place`, the app's own checkout: one conditional
  `UPDATE ... SET stock = stock - n WHERE id = ? AND stock >= n` per SKU.
- seed (compare-and-retry-3): the same checkout writes in the same order (order,
  history, stock, lines), but the stock is taken as the seeds did: read stock, then
  `UPDATE ... SET stock = <new> WHERE id = ? AND stock = <old>`, retried up to 3 times,
  after which the buyer is refused. Run at the app's READ COMMITTED, and at REPEATABLE
  READ, MySQL's default that the seeds (Django 1.11) ran with.

Reported per crowd and algorithm: orders/s (orders placed / wall time from the
barrier to the last buyer), p50/p95 of a buyer's checkout time, units oversold (sold
past the stock), and buyers refused while stock remained (the stock read right after
the refusal was still enough). --write replaces the `## checkout_contention` section
of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# --tree: the source tree whose checkout runs (its chalicelib and tests.factories), ahead of
# this one on the path; set before anything of the app is imported.
_TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, _TREE)

from bench.common import fresh_database, percentile  # noqa: E402

DATABASE = "bench_checkout_contention"
CROWDS = (50, 200)
# threads: one process serving every buyer (chalice local); processes: one buyer per
# process with its own connection, as Lambda containers would be.
MODES = ("threads", "processes")
PRICE = 129_900
SECTION = "## checkout_contention"


@dataclass
class Outcome:
    placed: bool
    seconds: float
    refused_with_stock_left: bool = False
    cas_misses: int = 0
    # the database gave up on the buyer (lock wait timeout, deadlock): not a refusal
    error: str | None = None


@dataclass
class RoundResult:
    crowd: int
    stock: int
    outcomes: list[Outcome]
    wall_seconds: float
    final_stock: int
    sold: int

    @property
    def orders(self) -> int:
        return sum(o.placed for o in self.outcomes)


# --- setup -----------------------------------------------------------------------------------


def create_database() -> str:
    url = fresh_database(DATABASE)
    from alembic import command
    from alembic.config import Config

    os.environ["DATABASE_URL"] = url
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    return url


def bench_engine(url: str, connections: int) -> Any:
    """The app's MySQL session settings, with a connection for every buyer."""
    from sqlalchemy import create_engine

    from chalicelib.db.engine import MYSQL_LOCK_WAIT_SECONDS

    return create_engine(
        url,
        pool_size=connections,
        max_overflow=0,
        pool_timeout=60,
        isolation_level="READ COMMITTED",
        connect_args={
            "charset": "utf8mb4",
            "init_command": f"SET SESSION innodb_lock_wait_timeout={MYSQL_LOCK_WAIT_SECONDS}",
        },
    )


def seed(engine: Any, crowd: int) -> tuple[int, list[tuple[int, int]]]:
    """One hot SKU and `crowd` buyers with an address each: (sku_id, [(user, address)])."""
    from tests import factories

    with engine.begin() as conn:
        sku_id = factories.sku(conn, name="爆款电视 65英寸", price=PRICE, stock=0)
        buyers = []
        for _ in range(crowd):
            user_id = factories.user(conn)
            buyers.append((user_id, factories.address(conn, user_id)))
    return sku_id, buyers


def reset_round(engine: Any, redis: Any, sku_id: int, stock: int, buyers: list[Any]) -> None:
    from sqlalchemy import delete, update

    from chalicelib.db.tables import order_lines, order_status_history, orders, skus

    with engine.begin() as conn:
        for table in (order_status_history, order_lines, orders):
            conn.execute(delete(table))
        conn.execute(update(skus).where(skus.c.id == sku_id).values(stock=stock, sales=0))
    pipe = redis.pipeline()
    for user_id, _ in buyers:
        pipe.delete(f"cart:{user_id}", f"cart:{user_id}:selected", f"cart:{user_id}:placing")
        pipe.hset(f"cart:{user_id}", str(sku_id), 1)
        pipe.sadd(f"cart:{user_id}:selected", str(sku_id))
    pipe.execute()


# --- the two checkouts -----------------------------------------------------------------------


class Refused(Exception):
    pass


def checkout_ours(conn: Any, redis: Any, user_id: int, address_id: int) -> int:
    from chalicelib.errors import Conflict
    from chalicelib.services import orders

    try:
        orders.place(conn, redis, user_id=user_id, address_id=address_id, pay_method="alipay")
    except Conflict as exc:
        raise Refused() from exc
    return 0


def take_stock_ours(conn: Any, sku_id: int, count: int) -> int:
    """The app's stock step alone: one conditional UPDATE."""
    from chalicelib.services.orders import take_units

    if not take_units(conn, sku_id, count):
        raise Refused()
    return 0


def take_stock_seed(conn: Any, sku_id: int, count: int) -> int:
    """The seeds' stock step: read, compare-and-set, up to 3 tries; the misses counted."""
    from sqlalchemy import select, update

    from chalicelib.db.tables import skus

    for attempt in range(3):
        old_stock, old_sales = conn.execute(
            select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)
        ).one()
        if count > old_stock:
            raise Refused()
        changed = conn.execute(
            update(skus)
            .where(skus.c.id == sku_id, skus.c.stock == old_stock)
            .values(stock=old_stock - count, sales=old_sales + count)
        ).rowcount
        if changed == 1:
            return attempt
    raise Refused()


def stock_step_only(take: Callable[[Any, int, int], int]) -> Callable[[Any, Any, int, int], int]:
    """A transaction that only takes one unit of the hot SKU (its id is in the cart)."""

    def checkout(conn: Any, redis: Any, user_id: int, address_id: int) -> int:
        from chalicelib.services import cart

        ((sku_id, count),) = cart.selected_counts(redis, user_id).items()
        return take(conn, sku_id, count)

    return checkout


def checkout_seed(conn: Any, redis: Any, user_id: int, address_id: int) -> int:
    """The same writes as ours; the stock taken by read, compare-and-set, retry up to 3 times."""
    from datetime import timedelta

    from sqlalchemy import select

    from chalicelib.clock import utcnow
    from chalicelib.db.tables import (
        addresses,
        order_lines,
        order_status_history,
        orders,
        skus,
    )
    from chalicelib.services import cart
    from chalicelib.services.orders import ADDRESS_SNAPSHOT, freight_for, new_order_id

    now = utcnow()
    address = conn.execute(select(addresses).where(addresses.c.id == address_id)).one()
    wanted = cart.selected_counts(redis, user_id)
    priced = {
        row.id: row
        for row in conn.execute(
            select(skus.c.id, skus.c.name, skus.c.price).where(skus.c.id.in_(list(wanted)))
        )
    }
    total = sum(priced[s].price * n for s, n in wanted.items())
    order_id = new_order_id(user_id, now)
    conn.execute(
        orders.insert().values(
            order_id=order_id,
            user_id=user_id,
            **{name: getattr(address, name) for name in ADDRESS_SNAPSHOT},
            total_count=sum(wanted.values()),
            total_amount=total,
            freight=freight_for(total),
            payment_amount=total + freight_for(total),
            pay_method="alipay",
            status=1,
            create_time=now,
            update_time=now,
            expires_at=now + timedelta(minutes=30),
        )
    )
    conn.execute(
        order_status_history.insert().values(
            order_id=order_id,
            from_status=None,
            to_status=1,
            actor=f"user:{user_id}",
            reason="placed",
            create_time=now,
        )
    )
    # as ours: order and history first, then the stock, then the lines (whose foreign key
    # takes a shared lock on the SKU row: before the stock update, checkouts would deadlock)
    misses = sum(take_stock_seed(conn, s, n) for s, n in sorted(wanted.items()))
    conn.execute(
        order_lines.insert(),
        [
            {
                "order_id": order_id,
                "sku_id": s,
                "name": priced[s].name,
                "price": priced[s].price,
                "count": n,
            }
            for s, n in sorted(wanted.items())
        ],
    )
    return misses


# name -> (checkout, isolation level). The app runs READ COMMITTED; the seeds ran on
# MySQL's default REPEATABLE READ (Django 1.11), where the compare-and-set's re-read sees
# the transaction's first snapshot again, so its retries cannot succeed.
ALGORITHMS: dict[str, tuple[Callable[[Any, Any, int, int], int], str]] = {
    "ours (conditional UPDATE stock >= n)": (checkout_ours, "READ COMMITTED"),
    "seed (compare-and-retry-3)": (checkout_seed, "READ COMMITTED"),
    "seed (compare-and-retry-3), REPEATABLE READ as the seeds ran": (
        checkout_seed,
        "REPEATABLE READ",
    ),
    "ours, stock step only": (stock_step_only(take_stock_ours), "READ COMMITTED"),
    "seed, stock step only": (stock_step_only(take_stock_seed), "READ COMMITTED"),
}


# --- a round ---------------------------------------------------------------------------------


@contextmanager
def unit(conn: Any) -> Iterator[None]:
    """conn.begin() as the app's transaction() runs it: checkout registers after-commit
    (the cart clean-up) and after-rollback hooks on its unit, which run once it ended.
    (transaction() itself would take a connection from the app's pool of 15.)"""
    from chalicelib.db import engine as db_engine

    hooks: dict[str, list[Any]] = {"commit": [], "rollback": []}
    db_engine._open_units[id(conn)] = hooks
    try:
        try:
            with conn.begin():
                yield
        finally:
            del db_engine._open_units[id(conn)]
    except BaseException:
        db_engine._run(hooks["rollback"])
        raise
    db_engine._run(hooks["commit"])


def _one_buyer(
    conn: Any,
    redis: Any,
    algorithm: tuple[Callable[[Any, Any, int, int], int], str],
    sku_id: int,
    buyer: tuple[int, int],
    wait: Callable[[], Any],
) -> Outcome:
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    from chalicelib.db.tables import skus

    checkout, isolation = algorithm
    conn.execution_options(isolation_level=isolation)
    conn.exec_driver_sql("SELECT 1")  # connected before the start: the race is on the row
    conn.rollback()
    wait()
    started = time.perf_counter()
    placed, misses, error = True, 0, None
    try:
        with unit(conn):
            misses = checkout(conn, redis, *buyer)
    except Refused:
        placed = False
    except OperationalError as exc:
        placed, error = False, str(exc.orig.args[1] if exc.orig else exc)
    seconds = time.perf_counter() - started
    left = 0
    if not placed and error is None:
        left = conn.scalar(select(skus.c.stock).where(skus.c.id == sku_id))
        conn.rollback()
    return Outcome(placed, seconds, left >= 1, misses, error)


class _WarmUp(Exception):
    pass


def lambda_init() -> None:
    """What every Lambda container has done before its first request: its init, which
    imports app.py. Buyer processes are forked after it, cold or warm: a cold buyer's
    first checkout then loads the checkout's modules and compiles its statements, as a
    cold container's first request does (the init itself is bench/coldstart's figure)."""
    import app  # noqa: F401  (the --tree's app.py: the path puts that tree first)


def warm_up(engine: Any, redis: Any, algorithm_name: str, buyer: tuple[int, int]) -> None:
    """One checkout rolled back, in the parent before it forks the buyers: the checkout's
    modules are imported and its statements compiled into `engine`'s cache, which every
    forked buyer inherits, as a warm Lambda container has them."""
    checkout, isolation = ALGORITHMS[algorithm_name]
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level=isolation)
            with unit(conn):
                checkout(conn, redis, *buyer)
                raise _WarmUp()
    except (_WarmUp, Refused):
        pass


def _container(
    engine: Any,
    url: str,
    redis_url: str,
    algorithm_name: str,
    sku_id: int,
    buyer: tuple[int, int],
    barrier: Any,
    results: Any,
    index: int,
) -> None:
    """A forked buyer process, as a Lambda container: its own connection and Redis socket;
    with the parent's warmed `engine` (its compiled statements), else a new one."""
    import redis as redis_lib

    if engine is None:
        engine = bench_engine(url, 1)
    else:
        engine.dispose(close=False)  # the parent's connections stay the parent's
    redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    with engine.connect() as conn:
        outcome = _one_buyer(conn, redis, ALGORITHMS[algorithm_name], sku_id, buyer, barrier.wait)
    results.put((index, outcome))
    engine.dispose()


def run_round(
    mode: str,
    engine: Any,
    redis: Any,
    algorithm_name: str,
    sku_id: int,
    buyers: list[tuple[int, int]],
    stock: int,
    warm: bool = False,
) -> RoundResult:
    """All buyers check out at once, as threads of one process or as processes (warm:
    forked after a rolled-back checkout in the parent, see warm_up)."""
    from sqlalchemy import select

    from chalicelib.db.tables import skus

    reset_round(engine, redis, sku_id, stock, buyers)
    outcomes: list[Outcome | None] = [None] * len(buyers)
    shared: Any = None  # the warmed engine the forked buyers inherit
    if mode == "threads":
        barrier: Any = threading.Barrier(len(buyers) + 1)
        connections = [engine.connect() for _ in buyers]

        def buyer(index: int) -> None:
            outcomes[index] = _one_buyer(
                connections[index],
                redis,
                ALGORITHMS[algorithm_name],
                sku_id,
                buyers[index],
                barrier.wait,
            )

        workers: list[Any] = [threading.Thread(target=buyer, args=(i,)) for i in range(len(buyers))]
    else:
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(len(buyers) + 1)
        results = context.Queue()
        url = engine.url.render_as_string(hide_password=False)
        redis_url = os.environ["REDIS_URL"]
        connections = []
        lambda_init()
        if warm:
            shared = bench_engine(url, 1)
            warm_up(shared, redis, algorithm_name, buyers[0])
            redis.delete(f"cart:{buyers[0][0]}:placing")  # as reset_round left it
        workers = [
            context.Process(
                target=_container,
                args=(
                    shared,
                    url,
                    redis_url,
                    algorithm_name,
                    sku_id,
                    buyers[i],
                    barrier,
                    results,
                    i,
                ),
            )
            for i in range(len(buyers))
        ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    if mode == "threads":
        for worker in workers:
            worker.join()
    else:
        for _ in buyers:
            index, outcome = results.get(timeout=120)
            outcomes[index] = outcome
    wall = time.perf_counter() - started
    for worker in workers:
        worker.join()
    for conn in connections:
        conn.close()
    if shared is not None:
        shared.dispose()
    with engine.connect() as conn:
        final_stock, sold = conn.execute(
            select(skus.c.stock, skus.c.sales).where(skus.c.id == sku_id)
        ).one()
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(buyers)
    return RoundResult(len(buyers), stock, done, wall, int(final_stock), int(sold))


@dataclass
class Summary:
    mode: str
    crowd: int
    stock: int
    algorithm: str
    orders_per_second: float
    p50_ms: float
    p95_ms: float
    sold: str
    oversold: int
    refused_with_stock_left: int
    cas_misses: int
    errors: int
    rounds: int


def summarise(mode: str, crowd: int, algorithm: str, rounds: list[RoundResult]) -> Summary:
    seconds = [o.seconds for r in rounds for o in r.outcomes]
    return Summary(
        mode=mode,
        crowd=crowd,
        stock=rounds[0].stock,
        algorithm=algorithm,
        orders_per_second=statistics.median(r.orders / r.wall_seconds for r in rounds),
        p50_ms=percentile(seconds, 0.50) * 1000,
        p95_ms=percentile(seconds, 0.95) * 1000,
        sold="/".join(str(r.sold) for r in rounds),
        oversold=sum(max(0, r.sold - r.stock) + max(0, -r.final_stock) for r in rounds),
        refused_with_stock_left=sum(o.refused_with_stock_left for r in rounds for o in r.outcomes),
        cas_misses=sum(o.cas_misses for r in rounds for o in r.outcomes),
        errors=sum(o.error is not None for r in rounds for o in r.outcomes),
        rounds=len(rounds),
    )


def markdown(summaries: list[Summary], rounds: int) -> str:
    lines = [
        SECTION,
        "",
        "`scripts/with-test-servers .venv/bin/python -m bench.checkout_contention.run "
        f"--rounds {rounds} --write`",
        "",
        "One hot SKU with `buyers / 2` units; every buyer has one unit in the cart and all",
        "check out at once (behind a barrier, one MariaDB connection each, READ COMMITTED),",
        "as threads of one process or as one forked process each (Lambda containers, forked",
        "after the app's init: app.py imported, the checkout not yet loaded or compiled).",
        f"{rounds} rounds per row, algorithms interleaved in the same run; orders/s is",
        "the median over rounds, p50/p95 over every buyer's checkout of all rounds; `sold` lists",
        "the units sold in each round; `refused with stock left` counts buyers refused while the",
        "stock read right after the refusal was still enough, summed over rounds. The",
        "`stock step only` rows run just the stock step in its own transaction (no order",
        "written), so the database row lock, not the client's Python, is the contended part;",
        "there orders/s means units taken per second. `CAS misses`: compare-and-sets that",
        "found the stock changed (then retried); `DB errors`: buyers the database gave up on",
        "(lock wait timeout after 5 s, the app's setting), neither placed nor refused.",
        "The seed runs at the app's READ COMMITTED and, once, at REPEATABLE READ, MySQL's",
        "default that the seeds (Django 1.11) ran with.",
        "",
        "| buyers | as | stock | algorithm | orders/s | p50 ms | p95 ms | sold per round "
        "| oversold | refused with stock left | CAS misses | DB errors |",
        "|---:|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.crowd} | {s.mode} | {s.stock} | {s.algorithm} | {s.orders_per_second:.0f} | "
            f"{s.p50_ms:.1f} | {s.p95_ms:.1f} | {s.sold} | {s.oversold} | "
            f"{s.refused_with_stock_left} | {s.cas_misses} | {s.errors} |"
        )
    return "\n".join(lines) + "\n"


def write_section(text: str, section: str = SECTION) -> None:
    """Replace only our section of bench/RESULTS.md (other benchmarks own the rest)."""
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    start = current.find(section + "\n")
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        following = current.find("\n## ", start + len(section))
        rest = current[following + 1 :] if following != -1 else ""
        updated = current[:start] + text + ("\n" + rest if rest else "")
    path.write_text(updated)


OURS = "ours (conditional UPDATE stock >= n)"


def compared_section(warm: bool) -> str:
    return "## checkout_contention (before/after" + (", warm)" if warm else ")")


def run_rounds(
    url: str,
    crowds: tuple[int, ...],
    modes: tuple[str, ...],
    names: list[str],
    rounds: int,
    warm: bool = False,
) -> dict[tuple[int, str, str], list[RoundResult]]:
    """Every round of every crowd, mode and algorithm on the database at `url` (emptied
    and seeded per crowd)."""
    import redis as redis_lib
    from sqlalchemy import delete

    redis_url = os.environ["REDIS_URL"]
    # redis-py's pool holds at most 100 connections unless told otherwise
    redis = redis_lib.Redis.from_url(
        redis_url, decode_responses=True, max_connections=max(crowds) + 5
    )
    engine = bench_engine(url, max(crowds) + 5)
    results: dict[tuple[int, str, str], list[RoundResult]] = {}
    try:
        for crowd in crowds:
            from chalicelib.db.tables import metadata

            with engine.begin() as conn:
                # categories reference their parents: emptied without the checks (the
                # bench's own database), which the session then turns on again
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
                for table in reversed(metadata.sorted_tables):
                    conn.execute(delete(table))
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
            sku_id, buyers = seed(engine, crowd)
            for mode in modes:
                for _ in range(rounds):
                    for name in names:
                        results.setdefault((crowd, mode, name), []).append(
                            run_round(mode, engine, redis, name, sku_id, buyers, crowd // 2, warm)
                        )
    finally:
        engine.dispose()
    return results


def compare(
    before: Path,
    after: Path = ROOT,
    crowds: tuple[int, ...] = (50,),
    modes: tuple[str, ...] = ("processes",),
    rounds: int = 5,
    warm: bool = False,
) -> dict[str, Any]:
    """Our checkout from two source trees on one database, alternated round by round (one
    fresh process per tree and round, `--tree`), under scripts/with-test-servers.
    Returns {"summaries": {label: [Summary as dict]}, "load": [load averages]}."""
    url = create_database()
    trees = {"before": before.resolve(), "after": after.resolve()}
    found: dict[str, dict[tuple[int, str], list[RoundResult]]] = {label: {} for label in trees}
    loads = [os.getloadavg()[0]]
    for number in range(rounds):
        for label, tree in trees.items():
            out = subprocess.run(
                [sys.executable, "-m", "bench.checkout_contention.run", "--tree", str(tree),
                 "--url", url, "--crowds", *map(str, crowds), "--modes", *modes,
                 "--only-ours", "--rounds", "1", "--json", *(["--warm"] if warm else [])],
                cwd=ROOT, check=True, capture_output=True, text=True,
            )  # fmt: skip
            for line in out.stdout.splitlines():
                if line.startswith('{"crowd"'):
                    raw = json.loads(line)
                    raw["outcomes"] = [Outcome(**o) for o in raw["outcomes"]]
                    key = (raw.pop("crowd_key"), raw.pop("mode"))
                    found[label].setdefault(key, []).append(RoundResult(**raw))
        loads.append(os.getloadavg()[0])
        print(f"round {number + 1} done, load {loads[-1]:.1f}", file=sys.stderr, flush=True)
    summaries = {
        label: [
            asdict(summarise(mode, crowd, OURS, results))
            for (crowd, mode), results in sorted(by_key.items())
        ]
        for label, by_key in found.items()
    }
    per_round = {
        label: {
            f"{crowd} {mode}": [
                percentile([o.seconds for o in r.outcomes], 0.5) * 1000 for r in results
            ]
            for (crowd, mode), results in sorted(by_key.items())
        }
        for label, by_key in found.items()
    }
    return {
        "summaries": summaries,
        "per_round_p50_ms": per_round,
        "load": loads,
        "rounds": rounds,
        "warm": warm,
    }


def compare_markdown(figures: dict[str, Any], command: str) -> str:
    loads = figures["load"]
    lines = [
        compared_section(figures["warm"]),
        "",
        f"`{command}`: our checkout (`services.orders.place` in a unit with its hooks, as",
        "the route runs it) from two source trees on one database, one fresh process per",
        f"tree and round, alternated, {figures['rounds']} rounds"
        + (
            "; processes warm (forked after a rolled-back checkout: modules imported, "
            "statements compiled, as in a warm Lambda container)"
            if figures["warm"]
            else "; processes cold (forked after the app's init, app.py imported: each "
            "imports the checkout and compiles its statements after the barrier, as a cold "
            "Lambda container's first request does)"
        )
        + "; otherwise as `## checkout_contention`",
        "(one hot SKU with `buyers / 2` units, all buyers at once behind a barrier,",
        "one MariaDB connection each). Load average over the run "
        f"{min(loads):.1f}-{max(loads):.1f} (2 cores, other work shares the machine).",
        "",
        "| buyers | as | tree | orders/s | p50 ms | p95 ms | sold per round | oversold "
        "| refused with stock left | DB errors |",
        "|---:|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    rows = [(label, s) for label, found in figures["summaries"].items() for s in found]
    for label, s in sorted(rows, key=lambda row: (row[1]["crowd"], row[1]["mode"])):
        lines.append(
            f"| {s['crowd']} | {s['mode']} | {label} | {s['orders_per_second']:.0f} | "
            f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['sold']} | {s['oversold']} | "
            f"{s['refused_with_stock_left']} | {s['errors']} |"
        )
    lines.append("")
    per_round = figures["per_round_p50_ms"]
    for key in per_round["after"]:
        before, after = per_round["before"][key], per_round["after"][key]
        ratios = sorted(a / b for a, b in zip(after, before, strict=True))
        lines.append(
            f"- {key}: each round's p50 (ms), before {', '.join(f'{v:.0f}' for v in before)}; "
            f"after {', '.join(f'{v:.0f}' for v in after)}; after/before per round "
            f"{ratios[0]:.2f}-{ratios[-1]:.2f} (median {statistics.median(ratios):.2f})."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--crowds", type=int, nargs="+", default=list(CROWDS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--only-ours", action="store_true", help="only our full checkout")
    parser.add_argument(
        "--before", type=Path, help="compare our checkout of this tree with --after's"
    )
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument(
        "--warm", action="store_true", help="fork buyers after a rolled-back checkout (warm)"
    )
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # read at import (_TREE)
    parser.add_argument("--url", help=argparse.SUPPRESS)  # a database prepared already
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    server_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not server_url or not redis_url:
        raise SystemExit("run under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")
    os.environ.setdefault("SHOP_STAGE", "local")
    os.environ["REDIS_URL"] = redis_url
    crowds, modes = tuple(args.crowds), tuple(args.modes)
    if args.before:
        figures = compare(args.before, args.after, crowds, modes, args.rounds, args.warm)
        command = (
            "scripts/with-test-servers .venv/bin/python -m bench.checkout_contention.run "
            f"--before <tree> --crowds {' '.join(map(str, crowds))} --modes {' '.join(modes)} "
            f"--rounds {args.rounds}" + (" --warm" if args.warm else "")
        )
        text = compare_markdown(figures, command)
        print(text)
        if args.write:
            write_section(text, compared_section(args.warm))
        return
    if args.url:
        os.environ["DATABASE_URL"] = args.url
    url = args.url or create_database()
    names = [OURS] if args.only_ours else list(ALGORITHMS)
    results = run_rounds(url, crowds, modes, names, args.rounds, args.warm)
    if args.json:
        for (crowd, mode, _), rounds in results.items():
            for result in rounds:
                print(json.dumps({**asdict(result), "crowd_key": crowd, "mode": mode}))
        return
    summaries = []
    for (crowd, mode, name), rounds in results.items():
        summary = summarise(mode, crowd, name, rounds)
        summaries.append(summary)
        print(summary, flush=True)
    text = markdown(summaries, args.rounds)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
