"""Per request: round trips to MariaDB and in-process time, of two source trees side by side.

    scripts/with-test-servers .venv/bin/python -m bench.per_request.run \
        --before /tmp/shop-before [--after .] [--rounds 5] [--runs 300] [--every-admin-read]
        [--write]

Prepares one database per tree on TEST_DATABASE_URL's MariaDB, `bench_per_request_before`
and `_after`, each migrated by its own tree's `manage.py migrate` (so each runs on the
schema and indexes its code made), filled by its `manage.py generate --users 20000 --skus
2000 --orders 20000` (seed 1), rolled up by its hourly job, with one superuser; then
alternates the trees, each round one fresh process
per tree (`--child`), so both see the same machine. Each child calls the app in-process
through chalice's test client (API handler, middleware, auth, view) and reports per
request:

- the round trips to MariaDB, counted in the driver (pymysql `_execute_command`: every
  query, COMMIT, ROLLBACK and COM_PING the connection sends), by kind;
- p50/p95 over --runs calls after 20 warm-up calls.

The requests: a public hello view (the framework floor), a staff-only hello view (the
auth floor: token, deny-list, user row), and admin reads; with --every-admin-read also
each GET route under /meiduo_admin (a path parameter is the first row of its table in
the tree's database). "Above the floor" is a request's p50 less the auth floor's, in the
same process; the last line counts the admin reads whose after/before ratio above the
floor is at most 0.5 (issue 16's target) and names the others.
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
DATABASE = "bench_per_request"
REQUESTS = {
    "public hello (framework floor)": "/bench/hello/",
    "staff hello (auth floor)": "/bench/staff-hello/",
    "admin total_count": "/meiduo_admin/statistical/total_count/",
    "admin day_increment": "/meiduo_admin/statistical/day_increment/",
    "admin users?keyword=wang": "/meiduo_admin/users/?keyword=wang",
    "admin orders (page 1)": "/meiduo_admin/orders/",
    "admin skus (page 1)": "/meiduo_admin/skus/",
}
# --every-admin-read: each GET route under /meiduo_admin too, its path parameter the first
# row of this table (column, table, condition) in the tree's database.
PATH_PARAMETERS = {
    "brand_id": ("id", "brands", ""),
    "category_id": ("id", "categories", "WHERE parent_id IS NULL"),
    "channel_id": ("id", "channels", ""),
    "group_id": ("id", "`groups`", ""),
    "image_id": ("id", "sku_images", ""),
    "option_id": ("id", "spec_options", ""),
    "order_id": ("order_id", "orders", ""),
    "permission_id": ("id", "permissions", ""),
    "sku_id": ("id", "skus", ""),
    "spec_id": ("id", "spu_specs", ""),
    "spu_id": ("id", "spus", ""),
    "staff_id": ("id", "users", "WHERE is_staff = 1"),
}


def every_admin_read(app: Any, conn: Any) -> dict[str, str]:
    """Each GET route under /meiduo_admin not in REQUESTS, as a path with its parameter
    filled in (routes whose table is empty are left out)."""
    import re

    from sqlalchemy import text

    measured = {path.rstrip("/") for path in REQUESTS.values()}
    found: dict[str, str] = {}
    for route, methods in sorted(app.routes.items()):
        if not route.startswith("/meiduo_admin/") or "GET" not in methods:
            continue
        path = route
        for name in re.findall(r"{(\w+)}", route):
            column, table, condition = PATH_PARAMETERS[name]
            first = conn.execute(text(f"SELECT MIN({column}) FROM {table} {condition}")).scalar()
            if first is None:
                path = ""
                break
            path = path.replace("{" + name + "}", str(first))
        if path and path not in measured:
            found[f"admin GET {route}/"] = path + "/"
    return found


# --- one tree, in its own process ----------------------------------------------------------


def child(tree: Path, url: str, runs: int, every: bool) -> dict[str, Any]:
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    app_environment(url, "bench-per-request-")
    from chalice.test import Client
    from sqlalchemy import select

    from app import app
    from chalicelib import auth
    from chalicelib.api.routing import ApiBlueprint
    from chalicelib.db.tables import users
    from chalicelib.services import accounts

    counting = Counting()
    counting.install()

    bp = ApiBlueprint(__name__)

    @bp.route("/bench/hello/", methods=["GET"])
    @auth.public
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @bp.route("/bench/staff-hello/", methods=["GET"])
    @auth.staff_required
    def staff_hello(user: auth.CurrentUser) -> dict[str, str]:
        return {"hello": user.username}

    app.register_blueprint(bp)

    from chalicelib.db.engine import engine

    with engine().connect() as conn:
        staff = conn.execute(select(users).where(users.c.username == "benchstaff")).one()
        requests = {**REQUESTS, **(every_admin_read(app, conn) if every else {})}
    headers = {"Authorization": f"Bearer {accounts.token_for(staff)}"}
    found: dict[str, Any] = {}
    with Client(app, stage_name="local", project_dir=str(tree)) as client:
        for name, path in requests.items():

            def call(path: str = path) -> None:
                response = client.http.get(path, headers=headers)
                assert response.status_code == 200, (path, response.body)

            for _ in range(20):
                call()
            counting.reset()
            call()
            trips = dict(counting.sql)
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
            found[name] = {
                "trips": trips,
                "p50": percentile(samples, 0.5),
                "p95": percentile(samples, 0.95),
            }
    return found


# --- the run ---------------------------------------------------------------------------------


def prepare(after: Path, database: str = DATABASE) -> str:
    """A database migrated and filled by the tree's own code (its schema, its indexes)."""
    url = fresh_database(database)
    env = {**os.environ, "DATABASE_URL": url, "SHOP_STAGE": "local"}
    manage = [sys.executable, str(after / "manage.py")]
    subprocess.run([*manage, "migrate"], env=env, check=True, cwd=after, capture_output=True)
    subprocess.run(
        [*manage, "generate", "--users", "20000", "--skus", "2000", "--orders", "20000"],
        env=env,
        check=True,
        cwd=after,
        capture_output=True,
    )
    # The hourly roll-up runs in every deployed shop; without it the dashboard's user count
    # counts every user instead of the users since the last final day.
    subprocess.run(
        [*manage, "runjob", "rollup-stats"], env=env, check=True, cwd=after, capture_output=True
    )
    script = (
        "from chalicelib.db.engine import transaction\n"
        "from chalicelib.services import accounts\n"
        "with transaction() as conn:\n"
        "    accounts.register(conn, username='benchstaff', password='bench-pass-1',"
        " mobile=None, is_staff=True, is_superuser=True)\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=after)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--every-admin-read", action="store_true", help="each GET under /meiduo_admin too"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.runs, args.every_admin_read)))
        return

    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    urls = {label: prepare(tree, f"{DATABASE}_{label}") for label, tree in trees.items()}
    results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    loads = [os.getloadavg()[0]]
    for number in range(args.rounds):
        for label, tree in trees.items():
            out = subprocess.run(
                [sys.executable, "-m", "bench.per_request.run", "--before", "-", "--child",
                 str(tree), "--url", urls[label], "--runs", str(args.runs),
                 *(["--every-admin-read"] if args.every_admin_read else [])],
                cwd=ROOT, check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
        loads.append(os.getloadavg()[0])
        print(f"round {number + 1} done, load {loads[-1]:.1f}", flush=True)
    report = render(args, results, loads)
    print(report)
    if args.write:
        write_section(report)


def render(args: argparse.Namespace, results: dict[str, Any], loads: list[float]) -> str:
    def median(label: str, name: str, key: str) -> float:
        return statistics.median(run[name][key] for run in results[label])

    def trips(label: str, name: str) -> str:
        found = results[label][-1][name]["trips"]
        total = sum(found.values())
        return f"{total} ({', '.join(f'{k} {v}' for k, v in sorted(found.items()))})"

    floor = "staff hello (auth floor)"
    lines = [
        "## per_request",
        "",
        f"`scripts/with-test-servers .venv/bin/python -m bench.per_request.run --before "
        f"<tree> --rounds {args.rounds} --runs {args.runs} --write` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC): MariaDB on this 2-core machine, 20,000 "
        f"users / 2,000 SKUs / 20,000 orders (each tree's own migrations and generator, "
        f"seed 1, in a database of its own; the hourly roll-up run), a superuser's token; "
        f"each round one fresh "
        f"process per tree, before then after, {args.runs} calls per request after 20 "
        f"warm-up calls, in-process through chalice's test client. Load average over the "
        f"run {min(loads):.1f}-{max(loads):.1f} (other work shares the machine). Times: the "
        f"median over {args.rounds} rounds of each round's p50 (p95), in ms. Round trips: "
        f"every command the driver sent for one request, by kind (SET STATEMENT ... FOR "
        f"SELECT counts as SELECT).",
        "",
        "| request | before trips | after trips | before p50 (p95) | after p50 (p95) "
        "| before above floor | after above floor | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios: dict[str, float] = {}
    for name in results["after"][0]:
        if name not in results["before"][0]:
            continue  # a route of this tree only
        b50, a50 = median("before", name, "p50"), median("after", name, "p50")
        b95, a95 = median("before", name, "p95"), median("after", name, "p95")
        if name.startswith("admin"):
            b_above = b50 - median("before", floor, "p50")
            a_above = a50 - median("after", floor, "p50")
            ratios[name] = a_above / b_above
            above = f"{b_above:.2f} | {a_above:.2f} | {ratios[name]:.2f}"
        else:
            above = f" | | {a50 / b50:.2f} (of the p50)"
        lines.append(
            f"| {name} | {trips('before', name)} | {trips('after', name)} "
            f"| {b50:.2f} ({b95:.2f}) | {a50:.2f} ({a95:.2f}) | {above} |"
        )
    over = [f"{name} ({ratio:.2f})" for name, ratio in ratios.items() if ratio > 0.5]
    lines += [
        "",
        f"Admin reads at most half their before time above the floor: "
        f"{len(ratios) - len(over)} of {len(ratios)}"
        + (f"; over: {', '.join(over)}." if over else "."),
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    start = text.find("## per_request\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
