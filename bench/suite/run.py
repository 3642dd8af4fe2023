"""The benchmark suite (`make bench`): every figure of issue 16 in one run.

    scripts/with-test-servers .venv/bin/python -m bench.suite.run [--write] [--runs 200]
        [--scales 20000:2000:50000,1000000:10000:1000000] [--skip coldstart,memory,...]

1. For each scale (users:SKUs:orders), a fresh database on the MariaDB of
   scripts/with-test-servers, migrated by `manage.py migrate` and filled by
   `manage.py generate` (the one bulk generator), Redis flushed; then a child process
   (`--child`) imports app.py and calls the Lambda handler `app.app(event, context)` with
   API Gateway proxy events (bench/suite/events.py) for the storefront and admin
   endpoints, next to a hello-world Chalice() app's handler (the framework floor):
   p50/p95 over --runs calls after --warmup calls, statements counted in the pymysql
   driver (as bench/per_request does) and Redis round trips counted in redis-py, and the
   child's RSS at the end.
2. The existing benches, through their own command lines (their printed tables are
   kept as printed): cold start of the source tree (bench.coldstart.run) and of the
   package (bench.coldstart.packaged); the admin reads per request beside the BASELINE
   tree, issue 16's "today" (bench.per_request.run, the tree extracted by `git
   archive`); checkout contention with 50 buyers as processes, our checkout only, cold
   (forked after the app's init) and warm (bench.checkout_contention.run --only-ours
   [--warm]); and RSS after 80 concurrent logins (bench.memory.run). One that fails is
   reported as not measured; the rest go on.
3. Writes bench/suite.json (every figure; bench/suite/chart.py draws bench/suite.png
   from it) and, with --write, replaces the `## suite` section of bench/RESULTS.md.

About 10-15 minutes on the project's 2-core machine, most of it generating 1M users.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import Counting, app_environment, fresh_database, percentile  # noqa: E402
from bench.suite import report  # noqa: E402
from bench.suite.events import Context, api_event  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
JSON = ROOT / "bench" / "suite.json"
DEFAULT_SCALES = "20000:2000:50000,1000000:10000:1000000"
BUFFER_POOL_BYTES = 2 * 1024**3  # a production-sized cache, as bench/admin_stats sets it
APP_ID = "2021004100000001"
SEARCH = "冰箱"
KEYWORD = "wang"
SUB_BENCHES = (
    "coldstart",
    "coldstart_packaged",
    "per_request",
    "contention",
    "contention_warm",
    "memory",
)
# The tree issue 16 measured its "today" on (main before its work began): per_request runs
# it beside this tree, each on a database its own code migrated and filled.
BASELINE = "6acfb58"


# --- the child: one scale's requests through the Lambda handler ------------------------------


class Endpoint:
    """One row of the table: timings and counts of its calls."""

    def __init__(self, request: str) -> None:
        self.request = request
        self.samples: list[float] = []
        self.sql: list[int] = []
        self.redis: list[int] = []
        self.kinds: dict[str, int] = {}

    def summary(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "p50": percentile(self.samples, 0.5),
            "p95": percentile(self.samples, 0.95),
            "sql": percentile([float(n) for n in self.sql], 0.5),
            "sql_kinds": self.kinds,
            "redis": percentile([float(n) for n in self.redis], 0.5),
            "calls": len(self.samples),
        }


def child(url: str, runs: int, warmup: int, out: Path) -> None:
    scratch = app_environment(url, "bench-suite-")
    from tests.fakes.alipay import FakeAlipay, KeyPair

    fake = FakeAlipay(
        app_id=APP_ID,
        app_keys=KeyPair.generate(),
        alipay_keys=KeyPair.generate(),
        wrong_keys=KeyPair.generate(),
    )
    os.environ.update(
        {
            "ALIPAY_APP_ID": APP_ID,
            "ALIPAY_APP_PRIVATE_KEY": fake.app_keys.private_pem,
            "ALIPAY_PUBLIC_KEY": fake.alipay_keys.public_base64,
        }
    )
    counting = Counting()
    counting.install()
    from chalice import Chalice

    from app import app

    floor = Chalice(app_name="hello")

    @floor.route("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    data = prepare_shop()
    shop_routes = list(app.routes)
    context = Context()
    found: dict[str, Endpoint] = {}

    def call(
        name: str,
        handler: Any,
        event: dict[str, Any],
        status: int,
        timed: bool,
    ) -> dict[str, Any]:
        counting.reset()
        started = time.perf_counter()
        response: dict[str, Any] = handler(event, context)
        elapsed = (time.perf_counter() - started) * 1000
        if response["statusCode"] != status:
            raise RuntimeError(f"{name}: {response['statusCode']} {response['body'][:300]}")
        if timed:
            row = found[name]
            row.samples.append(elapsed)
            row.sql.append(sum(counting.sql.values()))
            row.redis.append(counting.redis)
            row.kinds = dict(counting.sql)
        return response

    steps: list[Callable[[bool], None]] = []
    checks: list[Callable[[], None]] = []

    def reads(
        name: str,
        handler: Any,
        routes: list[str],
        url: str,
        token: str | None = None,
        check: Callable[[Any], bool] = lambda body: True,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        event = api_event(routes, "GET", url, headers=headers)
        found[name] = Endpoint(f"GET {url}")
        last: dict[str, Any] = {}

        def step(timed: bool) -> None:
            last["response"] = call(name, handler, event, 200, timed)

        def checked() -> None:
            body = json.loads(last["response"]["body"])
            if not check(body):
                raise RuntimeError(f"{name}: unexpected answer {str(body)[:300]}")

        steps.append(step)
        checks.append(checked)

    reads(report.FLOOR, floor, list(floor.routes), "/", check=lambda b: b == {"hello": "world"})
    reads(
        "public: username count (cheapest route)",
        app,
        shop_routes,
        f"/usernames/{data['buyer_name']}/count/",
        check=lambda b: b["count"] == 1,
    )
    reads("home", app, shop_routes, "/home/", check=lambda b: bool(b["floors"]))
    reads("categories", app, shop_routes, "/categories/", check=bool)
    reads(
        "SKU list (category, by sales)",
        app,
        shop_routes,
        f"/skus/?category={data['category']}&ordering=-sales",
        check=lambda b: b["count"] > 0,
    )
    reads("SKU detail", app, shop_routes, f"/skus/{data['sku']}/", check=lambda b: b["id"] > 0)
    reads("search", app, shop_routes, f"/search/?q={SEARCH}", check=lambda b: b["count"] > 0)
    buyer, admin = data["buyer_token"], data["admin_token"]
    reads("cart", app, shop_routes, "/cart/", buyer, check=lambda b: len(b["items"]) == 3)
    reads(
        "settlement",
        app,
        shop_routes,
        "/orders/settlement/",
        buyer,
        check=lambda b: len(b["items"]) == 3,
    )
    place_and_pay(data, fake, shop_routes, found, call, steps, checks, warmup + runs)
    reads(
        "admin total_count",
        app,
        shop_routes,
        "/meiduo_admin/statistical/total_count/",
        admin,
        check=lambda b: b["count"] == data["checks"]["users"] + 1,  # + benchadmin
    )
    reads(
        "admin day_orders",
        app,
        shop_routes,
        "/meiduo_admin/statistical/day_orders/",
        admin,
        check=lambda b: "count" in b,
    )
    reads(
        f"admin users?keyword={KEYWORD}",
        app,
        shop_routes,
        f"/meiduo_admin/users/?keyword={KEYWORD}",
        admin,
        check=lambda b: b["count"] > 0,
    )
    # Round robin: every round calls each endpoint once, so a burst of load from whatever
    # else runs on the machine falls on every row alike, not on the one being measured.
    for number in range(warmup + runs):
        for step in steps:
            step(number >= warmup)
    for checked in checks:
        checked()
    for name, row in found.items():
        print(f"{name}: p50 {percentile(row.samples, 0.5):.2f} ms", file=sys.stderr)
    endpoints = {name: row.summary() for name, row in found.items()}
    out.write_text(
        json.dumps({"endpoints": endpoints, "rss_mb": rss_mb(), "checks": data["checks"]})
    )
    shutil.rmtree(scratch, ignore_errors=True)


def place_and_pay(
    data: dict[str, Any],
    fake: Any,
    routes: list[str],
    found: dict[str, Endpoint],
    call: Callable[..., dict[str, Any]],
    steps: list[Callable[[bool], None]],
    checks: list[Callable[[], None]],
    calls: int,
) -> None:
    """A step of two requests: after a fresh cart line (untimed), POST /orders/ (timed),
    then Alipay's notify for that order (signed untimed, the POST timed). Paying each order
    at once keeps the buyer under MAX_UNPAID_ORDERS, as a real buyer would be."""
    from app import app
    from chalicelib.db.engine import engine
    from chalicelib.resources import redis
    from chalicelib.services import cart

    place, notify = "place order", "Alipay notify (pays it)"
    found[place] = Endpoint("POST /orders/")
    found[notify] = Endpoint("POST /payments/alipay/notify/")
    headers = {
        "Authorization": f"Bearer {data['placer_token']}",
        "Content-Type": "application/json",
    }
    body = json.dumps({"address_id": data["placer_address"], "pay_method": "alipay"})
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    numbers = iter(range(calls))

    def step(timed: bool) -> None:
        number = next(numbers)
        with engine().begin() as conn:
            cart.add(conn, redis(), data["placer"], data["hot_sku"], 1, True)
        event = api_event(routes, "POST", "/orders/", headers=headers, body=body)
        placed = json.loads(call(place, app, event, 201, timed)["body"])
        fields = fake.notify(
            placed["order_id"],
            placed["payment_amount"],
            trade_no=f"2026{number:024d}",
            notify_id=f"bench{number:028d}",
        )
        event = api_event(
            routes, "POST", "/payments/alipay/notify/", headers=form, body=urlencode(fields)
        )
        answer = call(notify, app, event, 200, timed)["body"]
        if answer != "success":
            raise RuntimeError(f"notify answered {answer!r}")

    def checked() -> None:
        from sqlalchemy import func, select

        from chalicelib.db.tables import orders

        with engine().connect() as conn:
            paid = conn.scalar(
                select(func.count())
                .select_from(orders)
                .where(orders.c.user_id == data["placer"], orders.c.status == 2)
            )
        if paid != calls:
            raise RuntimeError(f"{paid} orders paid, {calls} placed")

    steps.append(step)
    checks.append(checked)


def prepare_shop() -> dict[str, Any]:
    """The rows the requests need, on the generated data: two buyers with an address, a
    superuser, a cart of 3 lines, a SKU with ample stock for the orders."""
    from sqlalchemy import func, select, update

    from chalicelib.db.engine import engine
    from chalicelib.db.tables import skus, users
    from chalicelib.resources import redis
    from chalicelib.services import accounts, cart
    from chalicelib.services.catalog import ON_SALE
    from tests import factories

    with engine().begin() as conn:
        total = conn.scalar(select(func.count()).select_from(users))
        picked = list(conn.execute(select(users).order_by(users.c.id).offset(total // 2).limit(2)))
        buyer, placer = picked
        on_sale = list(
            conn.scalars(
                select(skus.c.id).where(ON_SALE, skus.c.stock >= 10).order_by(skus.c.id).limit(4)
            )
        )
        hot, lines = on_sale[0], on_sale[1:]
        conn.execute(update(skus).where(skus.c.id == hot).values(stock=10_000_000))
        category = conn.scalar(
            select(skus.c.category_id)
            .where(ON_SALE)
            .group_by(skus.c.category_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        best = conn.scalar(select(skus.c.id).where(ON_SALE).order_by(skus.c.sales.desc()).limit(1))
        factories.address(conn, buyer.id)
        placer_address = factories.address(conn, placer.id)
        admin = accounts.register(
            conn, username="benchadmin", password="bench-pass-1", is_staff=True, is_superuser=True
        )
        for sku_id in lines:
            cart.add(conn, redis(), buyer.id, sku_id, 1, True)
        in_category = conn.scalar(
            select(func.count()).select_from(skus).where(ON_SALE, skus.c.category_id == category)
        )
    return {
        "buyer_name": buyer.username,
        "buyer_token": accounts.token_for(buyer),
        "placer": placer.id,
        "placer_token": accounts.token_for(placer),
        "placer_address": placer_address,
        "admin_token": accounts.token_for(admin),
        "hot_sku": hot,
        "category": category,
        "sku": best,
        "checks": {"users": total, "skus_in_category": in_category},
    }


def rss_mb() -> dict[str, int]:
    now = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            now = int(line.split()[1]) // 1024
    return {"now": now, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


# --- the run -------------------------------------------------------------------------------


def parse_scales(text: str) -> list[dict[str, Any]]:
    """`20000:2000:50000,1000000:...` -> [{"label": "20k", "users": 20000, ...}, ...]"""
    scales = []
    for item in text.split(","):
        users, skus, orders = (int(n) for n in item.split(":"))
        label = f"{users // 1_000_000}M" if users % 1_000_000 == 0 else f"{users // 1000}k"
        scales.append({"label": label, "users": users, "skus": skus, "orders": orders})
    return scales


def server_engine() -> Any:
    from sqlalchemy import create_engine

    return create_engine(os.environ["TEST_DATABASE_URL"])


def machine() -> dict[str, Any]:
    from sqlalchemy import text

    meminfo = Path("/proc/meminfo").read_text().split()
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import redis as redis_lib

    engine = server_engine()
    with engine.begin() as conn:
        mariadb = conn.scalar(text("SELECT VERSION()"))
        conn.execute(text(f"SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL_BYTES}"))
        pool = conn.scalar(text("SELECT @@innodb_buffer_pool_size"))
    engine.dispose()
    info = redis_lib.Redis.from_url(os.environ["TEST_REDIS_URL"]).info("server")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2,
        "python": platform.python_version(),
        "mariadb": mariadb,
        "buffer_pool_gb": int(pool) / 1024**3,
        "redis": info["redis_version"],
    }


def run_scale(scale: dict[str, Any], runs: int, warmup: int) -> dict[str, Any]:
    from sqlalchemy import text

    name = f"bench_suite_{scale['label'].lower()}"
    url = fresh_database(name)
    import redis as redis_lib

    redis_lib.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()
    env = {**os.environ, "DATABASE_URL": url, "SHOP_STAGE": "local"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    started = time.perf_counter()
    generated = subprocess.run(
        [*manage, "generate", "--users", str(scale["users"]), "--skus", str(scale["skus"]),
         "--orders", str(scale["orders"])],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    print(f"{scale['label']}: generated in {seconds:.0f} s: {generated.stdout.strip()}", flush=True)
    # The hourly roll-up job, as a running shop has it: total_count and the month figures
    # read its daily_stats rows (without them total_count counts every user).
    began = time.perf_counter()
    rolled = subprocess.run(
        [*manage, "runjob", "rollup-stats"],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    rollup_seconds = time.perf_counter() - began
    began = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", "bench.suite.run", "--child", "--url", url,
             "--runs", str(runs), "--warmup", str(warmup), "--out", out.name],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,  # the app's JSON log lines
        )  # fmt: skip
        measured = json.loads(Path(out.name).read_text())
    engine = server_engine()
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()
    return {
        **scale,
        "generate_seconds": seconds,
        "generator": generated.stdout.strip(),
        "rollup": rolled.stdout.strip(),
        "rollup_seconds": rollup_seconds,
        "measure_seconds": time.perf_counter() - began,
        "load": list(os.getloadavg()),
        **measured,
    }


def sub_bench(command: list[str], timeout: int) -> str:
    """A bench's own command line; its printed output."""
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a timeout ends its forks too
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RuntimeError(f"no answer within {timeout} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"exit {process.returncode}: {stderr.strip()[-500:]}")
    return stdout


SUB_BENCH_COMMANDS: dict[str, tuple[list[str], int]] = {
    "coldstart": (["bench.coldstart.run", "--runs", "7"], 300),
    "coldstart_packaged": (["bench.coldstart.packaged", "--runs", "7"], 600),
    # {baseline}: the BASELINE tree, extracted by baseline_tree()
    "per_request": (
        [
            "bench.per_request.run",
            *("--before", "{baseline}", "--every-admin-read", "--rounds", "3", "--runs", "200"),
        ],
        1200,
    ),
    "contention": (
        [
            "bench.checkout_contention.run",
            *("--crowds", "50", "--modes", "processes", "--only-ours", "--rounds", "3"),
        ],
        300,
    ),
    "contention_warm": (
        [
            "bench.checkout_contention.run",
            *("--crowds", "50", "--modes", "processes", "--only-ours", "--warm", "--rounds", "3"),
        ],
        300,
    ),
    "memory": (["bench.memory.run", "--rounds", "1"], 300),
}


def baseline_tree(into: Path) -> Path:
    """The BASELINE commit's files (`git archive`), for per_request's before side."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {BASELINE}: {archive.stderr.decode().strip()[-300:]}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--scales", default=DEFAULT_SCALES, help="users:skus:orders,...")
    parser.add_argument("--skip", default="", help=f"comma-separated: {','.join(SUB_BENCHES)}")
    parser.add_argument("--write", action="store_true", help="replace ## suite in RESULTS.md")
    parser.add_argument("--json", type=Path, default=JSON)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.url, args.runs, args.warmup, args.out)
        return
    if not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")):
        sys.exit("run it under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "load": {"before": list(os.getloadavg())},
        "machine": machine(),
        "runs": args.runs,
        "warmup": args.warmup,
        "scales": [],
        "errors": {},
    }
    for scale in parse_scales(args.scales):
        results["scales"].append(run_scale(scale, args.runs, args.warmup))
    skipped = set(filter(None, args.skip.split(",")))
    baseline = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    for key, (command, timeout) in SUB_BENCH_COMMANDS.items():
        if key in skipped:
            results["errors"][key] = "skipped (--skip)"
            continue
        print(f"{key}: python -m {' '.join(command)}", flush=True)
        began = time.perf_counter()
        try:
            if "{baseline}" in command:
                command = [str(baseline_tree(baseline)) if part == "{baseline}" else part
                           for part in command]  # fmt: skip
                if args.write:  # its own section too, `## per_request`
                    command = [*command, "--write"]
            printed = sub_bench(command, timeout)
        except RuntimeError as exc:
            results["errors"][key] = str(exc)
            print(f"{key} failed: {exc}", flush=True)
            continue
        # memory prints one line per server before its table; the others the table first
        results[key] = report.first_table(printed)
        results[f"{key}_printed"] = printed
        results.setdefault("seconds", {})[key] = time.perf_counter() - began
        results.setdefault("load_after", {})[key] = list(os.getloadavg())
    shutil.rmtree(baseline, ignore_errors=True)
    results["load"]["after"] = list(os.getloadavg())
    results["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    results["wall_seconds"] = time.perf_counter() - started
    args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    section = report.render(results)
    print(section)
    if args.write:
        RESULTS.write_text(report.replace_section(RESULTS.read_text(), report.SECTION, section))


if __name__ == "__main__":
    main()
