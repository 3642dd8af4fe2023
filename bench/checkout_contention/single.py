"""One checkout alone: POST /orders/ in-process, its time and the commands it sends.

    scripts/with-test-servers .venv/bin/python -m bench.checkout_contention.single \
        [--before /tmp/checkout-before] [--after .] [--rounds 5] [--runs 300] [--write]

Prepares the database `bench_checkout_single` on TEST_DATABASE_URL's MariaDB (migrated by
the after tree's `manage.py migrate`; one on-sale SKU with ample stock, 50 buyers with an
address each) and uses TEST_REDIS_URL for the carts. Then, each round, one fresh process
per tree (`--child`; before then after when --before is given, so both see the same
machine) calls the app in-process through chalice's test client (API handler, auth,
view, service, after-commit hook) and reports per kind of checkout:

- the round trips to MariaDB of one checkout, counted in the driver (pymysql
  `_execute_command`: every query, BEGIN, COMMIT, ROLLBACK and COM_PING), by kind, and
  the round trips to Redis (redis-py `send_packed_command`: a pipeline is one);
- p50/p95 over --runs checkouts after 20 warm-up ones.

Each checkout is a buyer (50 in turn) with one selected unit of the SKU in the cart,
paying by Alipay, answered 201 with the order. Outside the timed call the cart is
refilled and the order marked paid, so the unpaid-order count stays as a buyer's would.

`measure(...)` is the importable entry point (bench/suite calls it): it returns the
figures as a dict; `--write` replaces the `## checkout` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Counting, app_environment, fresh_database, percentile

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "bench_checkout_single"
BUYERS = 50
WARM_UP = 20
SECTION = "## checkout"
KINDS = {
    "checkout": {},
    "checkout with Idempotency-Key": {"Idempotency-Key": None},  # a fresh key per call
}


# --- one tree, in its own process ----------------------------------------------------------


def child(tree: Path, url: str, runs: int) -> dict[str, Any]:
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    app_environment(url, "bench-checkout-")
    from chalice.test import Client
    from sqlalchemy import select, update

    from app import app
    from chalicelib import resources
    from chalicelib.db.engine import engine
    from chalicelib.db.tables import addresses, orders, skus, users
    from chalicelib.services import accounts

    counting = Counting()
    counting.install()

    with engine().connect() as conn:
        sku_id = conn.scalar(select(skus.c.id).order_by(skus.c.id).limit(1))
        buyers = [
            (row, accounts.token_for(row), address_id)
            for row, address_id in (
                (r, r.address_id)
                for r in conn.execute(
                    select(users, addresses.c.id.label("address_id"))
                    .join(addresses, addresses.c.user_id == users.c.id)
                    .order_by(users.c.id)
                )
            )
        ]
    cart = resources.redis()
    numbers = iter(range(1, 10**9))

    def checkout(client: Any, with_key: bool) -> tuple[float, dict[str, int]]:
        """One timed checkout of the next buyer (ms, round trips); the cart is filled before
        and the order marked paid after, outside the timing."""
        number = next(numbers)
        user, token, address_id = buyers[number % len(buyers)]
        pipe = cart.pipeline()
        pipe.hset(f"cart:{user.id}", str(sku_id), 1)
        pipe.sadd(f"cart:{user.id}:selected", str(sku_id))
        pipe.execute()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if with_key:
            headers["Idempotency-Key"] = f"bench-{os.getpid()}-{number}"
        body = json.dumps({"address_id": address_id, "pay_method": "alipay"})
        counting.reset()
        started = time.perf_counter()
        response = client.http.post("/orders/", body=body, headers=headers)
        took = (time.perf_counter() - started) * 1000
        trips = {**counting.sql, "redis": counting.redis}
        assert response.status_code == 201, response.body
        with engine().begin() as conn:  # paid: the buyer's unpaid count stays 0
            conn.execute(update(orders).where(orders.c.user_id == user.id).values(status=2))
        return took, trips

    found: dict[str, Any] = {}
    with Client(app, stage_name="local", project_dir=str(tree)) as client:
        for name, extra in KINDS.items():
            with_key = "Idempotency-Key" in extra
            for _ in range(WARM_UP):
                checkout(client, with_key)
            timed = [checkout(client, with_key) for _ in range(runs)]
            samples = [took for took, _ in timed]
            found[name] = {
                "trips": timed[-1][1],
                "p50": percentile(samples, 0.5),
                "p95": percentile(samples, 0.95),
            }
    return found


# --- the run ---------------------------------------------------------------------------------


def prepare(after: Path) -> str:
    """A fresh database: migrated, one SKU with ample stock, BUYERS buyers with an address."""
    url = fresh_database(DATABASE)
    env = {**os.environ, "DATABASE_URL": url, "SHOP_STAGE": "local"}
    subprocess.run(
        [sys.executable, str(after / "manage.py"), "migrate"],
        env=env, check=True, cwd=after, capture_output=True,
    )  # fmt: skip
    script = (
        "from chalicelib.db.engine import transaction\n"
        "from tests import factories\n"
        "with transaction() as conn:\n"
        "    factories.sku(conn, name='爆款电视 65英寸', price=129900, stock=10**8)\n"
        f"    for _ in range({BUYERS}):\n"
        "        factories.address(conn, factories.user(conn))\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=after)
    return url


def measure(
    before: Path | None = None, after: Path = ROOT, rounds: int = 5, runs: int = 300
) -> dict[str, Any]:
    """Run under scripts/with-test-servers. Returns {"trees": {label: [round results]},
    "median": {label: {kind: {"p50", "p95", "trips", "statements"}}}, "load": [...]}:
    each round's child result, the median over rounds of each p50/p95, the last round's
    round trips by kind, and the load average before and after each round."""
    url = prepare(after.resolve())
    trees = {"before": before.resolve()} if before else {}
    trees["after"] = after.resolve()
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
    loads = [os.getloadavg()[0]]
    for number in range(rounds):
        for label, tree in trees.items():
            out = subprocess.run(
                [sys.executable, "-m", "bench.checkout_contention.single", "--child", str(tree),
                 "--url", url, "--runs", str(runs)],
                cwd=ROOT, check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
        loads.append(os.getloadavg()[0])
        print(f"round {number + 1} done, load {loads[-1]:.1f}", file=sys.stderr, flush=True)
    median: dict[str, dict[str, Any]] = {}
    for label, found in results.items():
        median[label] = {}
        for kind in KINDS:
            trips = found[-1][kind]["trips"]
            median[label][kind] = {
                "p50": statistics.median(run[kind]["p50"] for run in found),
                "p95": statistics.median(run[kind]["p95"] for run in found),
                "trips": trips,
                "statements": sum(n for k, n in trips.items() if k != "redis"),
                "redis": trips.get("redis", 0),
            }
    return {"trees": results, "median": median, "load": loads, "rounds": rounds, "runs": runs}


def render(figures: dict[str, Any], command: str) -> str:
    loads, median = figures["load"], figures["median"]
    labels = list(median)

    def trips(found: dict[str, int]) -> str:
        db = {k: v for k, v in found.items() if k != "redis"}
        return f"{sum(db.values())} ({', '.join(f'{k} {v}' for k, v in sorted(db.items()))})"

    lines = [
        SECTION,
        "",
        f"`{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC): MariaDB + Redis on this "
        f"2-core machine; one checkout at a time (one unit of one SKU, Alipay, a buyer "
        f"of {BUYERS} in turn), in-process through chalice's test client, each round one "
        f"fresh process per tree ({' then '.join(labels)}), {figures['runs']} checkouts per "
        f"kind after {WARM_UP} warm-up ones. Load average over the run "
        f"{min(loads):.1f}-{max(loads):.1f} (other work shares the machine). Times: the "
        f"median over {figures['rounds']} rounds of each round's p50 (p95), in ms. Round "
        f"trips: every command the driver sent for one checkout (auth's user read "
        f"included), by kind; Redis: commands or pipelines sent.",
        "",
        "| checkout | tree | MariaDB round trips | Redis round trips | p50 (p95) ms |",
        "|---|---|---|---:|---|",
    ]
    for kind in KINDS:
        for label in labels:
            got = median[label][kind]
            lines.append(
                f"| {kind} | {label} | {trips(got['trips'])} | {got['redis']} "
                f"| {got['p50']:.2f} ({got['p95']:.2f}) |"
            )
    if "before" in median:
        lines.append("")
        for kind in KINDS:
            ratios = [
                after[kind]["p50"] / before[kind]["p50"]
                for before, after in zip(
                    figures["trees"]["before"], figures["trees"]["after"], strict=True
                )
            ]
            lines.append(
                f"- {kind}: after/before p50 {median['after'][kind]['p50']:.2f} / "
                f"{median['before'][kind]['p50']:.2f} = "
                f"{median['after'][kind]['p50'] / median['before'][kind]['p50']:.2f}; "
                f"per round {min(ratios):.2f}-{max(ratios):.2f}."
            )
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    """Replace only this section of bench/RESULTS.md (other benchmarks own the rest)."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end != -1 else "")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.runs)))
        return
    if not os.environ.get("TEST_DATABASE_URL") or not os.environ.get("TEST_REDIS_URL"):
        raise SystemExit("run under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")
    figures = measure(args.before, args.after, args.rounds, args.runs)
    command = (
        "scripts/with-test-servers .venv/bin/python -m bench.checkout_contention.single"
        + (" --before <tree>" if args.before else "")
        + f" --rounds {args.rounds} --runs {args.runs}"
    )
    report = render(figures, command)
    print(report)
    if args.write:
        write_section(report)


if __name__ == "__main__":
    main()
