"""Cold start of the packaged API handler: the built zip, with and without its bytecode.

The source-tree figure (bench/coldstart/run.py) imports app.py from the checkout with
the venv's site-packages. This one runs what Lambda runs: build/dev/deployment.zip
(built by scripts/package when stale), unpacked into a folder, imported in a clean
interpreter (`python -I -S -B`, sys.path = the folder + the standard library), on the
dev stage against real MariaDB and Redis. Each run is a new process, as a new Lambda
container would be; "without bytecode" removes every shipped __pycache__, which is what
Lambda does with a package that has none (its /var/task is read-only, nothing is
cached between containers).

Two first requests, each in processes of its own (bench/coldstart/run.py, REQUESTS):
the public GET /usernames/{username}/count/, and the admin
GET /meiduo_admin/statistical/total_count/ with a superuser's JWT (token check, Redis
deny-list, the user's row, the count). A third kind of container besides those with and
without bytecode: "primed at init", initialized as Lambda does for provisioned
concurrency (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency, chalicelib/priming.py).

Usage (needs the servers):
    scripts/with-test-servers .venv/bin/python -m bench.coldstart.packaged [--runs 7] [--write]

For other code (bench/suite): `measure(runs)` returns the samples (it needs TEST_DATABASE_URL
and TEST_REDIS_URL), `report(...)` the RESULTS.md section, `cold_start(folder, env, event)`
is one cold start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.coldstart.run import (
    JWT_SECRET,
    REQUESTS,
    TARGET_WHOLE_SECONDS,
    event_for,
    ms,
    staff_token,
    write_section,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.packaged import (  # noqa: E402
    LambdaProcess,
    api_event,
    child_environment,
    ensure_package,
    unpack,
)

EVENT = api_event(
    "GET",
    "/usernames/alice_01/count/",
    "/usernames/{username}/count",
    path_parameters={"username": "alice_01"},
)
# The bench's MariaDB has no TLS. On AWS the URL names a CA bundle (ssl_ca) and the first
# connect loads it and does a TLS handshake; here `ssl_disabled` keeps pymysql's
# "preferred" mode from loading the system's CA store (~19 ms) for a TLS the server cannot
# offer. `tls_setup()` measures the AWS side of it separately.
DATABASE_OPTIONS = "?charset=utf8mb4&ssl_disabled=true"


def settings(database_url: str, redis_url: str) -> dict[str, str]:
    # Storage and Alipay are required settings but these requests never contact them.
    return {
        "SHOP_STAGE": "dev",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STORAGE_URL": "fastdfs://127.0.0.1:22122",
        "MEDIA_URL": "https://media.example.test/",
        "MAIL_URL": "sqs://https://sqs.us-east-1.amazonaws.com/000000000000/jiadian-shop-dev-mail",
        "MAIL_FROM": "家电之选 <no-reply@shop.example.test>",
        "API_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/api",
        "JWT_SECRET": JWT_SECRET,
        "ALIPAY_APP_ID": "2021000000000000",
        "ALIPAY_GATEWAY": "http://127.0.0.1:9/gateway.do",
    }


def cold_start(
    folder: Path, env: dict[str, str], event: dict[str, Any] | None = None
) -> dict[str, float]:
    """One container: import app, answer `event` (default: the public read). Seconds:
    import, first_request, and total (process start to answer, interpreter included)."""
    process = LambdaProcess(folder, "app.app", env)
    try:
        response = process.invoke(EVENT if event is None else event)
        assert response["statusCode"] == 200, response
        assert process.cold_start_seconds is not None
        return {
            "import": float(process.loaded["import_seconds"]),
            "first_request": float(process.first_invocation_seconds),
            "total": process.cold_start_seconds,
        }
    finally:
        process.close()


@contextlib.contextmanager
def bench_database() -> Iterator[tuple[dict[str, str], str]]:
    """A fresh database on the test server, migrated, holding the bench's superuser:
    yields (the dev-stage Lambda environment, the superuser's token); dropped after."""
    server, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not (server and redis_url):
        sys.exit("run it under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")
    out = ensure_package("dev")
    name = f"shop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    database_url = server.rstrip("/") + "/" + name + DATABASE_OPTIONS
    env = child_environment(settings(database_url, redis_url), "jiadian-shop-dev")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = unpack(out / "deployment.zip", Path(tmp) / "migrate")
            migrate = LambdaProcess(folder, "chalicelib.jobs.migrate", env)
            migrate.invoke({})
            migrate.close()
        local = {**os.environ, "SHOP_STAGE": "local", "DATABASE_URL": database_url}
        token = staff_token({**local, "JWT_SECRET": JWT_SECRET})
        yield env, token
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


# How a container starts: the package as shipped, without its bytecode, and initialized
# ahead of traffic (provisioned concurrency: Lambda says so at init and app.py primes the
# container, chalicelib/priming.py; its init is then on no request's path).
VARIANTS = {
    "with bytecode": {"bytecode": True, "env": {}},
    "without bytecode": {"bytecode": False, "env": {}},
    "primed at init": {
        "bytecode": True,
        "env": {"AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"},
    },
}


def measure(
    runs: int = 7,
    requests: tuple[str, ...] = tuple(REQUESTS),
    variants: tuple[str, ...] = tuple(VARIANTS),
) -> dict[tuple[str, str], list[dict[str, float]]]:
    """(request, variant) -> `runs` cold starts, after one unmeasured run each that warms
    the OS file cache (a busy Lambda host has it warm); the rows alternate."""
    out = ensure_package("dev")
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    with bench_database() as (env, token), tempfile.TemporaryDirectory() as tmp:
        folders = {
            pyc: unpack(
                out / "deployment.zip", Path(tmp) / ("pyc" if pyc else "source"), bytecode=pyc
            )
            for pyc in {VARIANTS[v]["bytecode"] for v in variants}
        }
        events = {name: event_for(name, token) for name in requests}

        def once(name: str, variant: str) -> dict[str, float]:
            setup = VARIANTS[variant]
            return cold_start(folders[setup["bytecode"]], {**env, **setup["env"]}, events[name])

        for key in [(name, variant) for variant in variants for name in requests]:
            once(*key)
            rows[key] = []
        for _ in range(runs):
            for key in rows:
                rows[key].append(once(*key))
    return rows


def tls_setup(runs: int = 5) -> dict[str, float]:
    """What the first connect pays on AWS for TLS before the handshake: building the
    context with the CA bundle DATABASE_URL names (seconds, median of `runs`)."""
    import ssl
    import time

    bundles = {
        "system CA store (ssl.create_default_context())": None,
        "shipped Amazon roots (chalicelib/certs)": str(
            ROOT / "chalicelib" / "certs" / "amazon-root-cas.pem"
        ),
    }
    found = {}
    for label, cafile in bundles.items():
        if cafile is not None and not Path(cafile).is_file():
            continue
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            ssl.create_default_context(cafile=cafile)
            samples.append(time.perf_counter() - started)
        found[label] = statistics.median(samples)
    return found


def report(
    rows: dict[tuple[str, str], list[dict[str, float]]],
    runs: int,
    tls: dict[str, float] | None = None,
) -> str:
    zipped = (ROOT / "build" / "dev" / "deployment.zip").stat().st_size
    lines = [
        "## coldstart-packaged",
        "",
        f"`python -m bench.coldstart.packaged --runs {runs}` under scripts/with-test-servers: "
        f"build/dev/deployment.zip ({zipped / 1e6:.1f} MB) unpacked, each run a new "
        "`python -I -S -B` process (Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores) with only the package and the "
        "standard library on sys.path, dev stage on MariaDB (no TLS) + Redis, through the API "
        "handler (`app.app`). Whole cold start: from starting the process to reading the "
        f"answer. Median (min-max) of {runs} runs; load average {os.getloadavg()[0]:.1f} at "
        "the end.",
        "",
        "| container | first request | import app (init) | first request | whole cold start |",
        "|---|---|---|---|---|",
    ]
    for (name, variant), samples in rows.items():
        lines.append(
            f"| {variant} | {REQUESTS[name][0]} | "
            f"{ms([s['import'] for s in samples])} | {ms([s['first_request'] for s in samples])} | "
            f"{ms([s['total'] for s in samples])} |"
        )
    lines.append("")
    for (name, variant), samples in rows.items():
        if variant != "with bytecode":
            continue
        whole = statistics.median(s["total"] for s in samples)
        met = "met" if whole <= TARGET_WHOLE_SECONDS else "MISSED"
        lines.append(
            f"- {name}, with bytecode: whole cold start at most "
            f"{TARGET_WHOLE_SECONDS * 1000:.0f} ms -> **{met}** ({whole * 1000:.0f} ms)."
        )
    if any(variant == "primed at init" for _, variant in rows):
        lines.append(
            "- primed at init: what a provisioned-concurrency container does "
            "(AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency, chalicelib/priming.py). "
            "Lambda runs its init before any request arrives, so a client waits only for the "
            "first request column."
        )
    if tls:
        lines += [
            "",
            "Not in the figures above (the bench's server has no TLS): on AWS the first connect "
            "builds a TLS context from the CA bundle DATABASE_URL names, then does the "
            "handshake. Building the context here (median of 5):",
            "",
        ]
        lines += [f"- {label}: {seconds * 1000:.1f} ms" for label, seconds in tls.items()]
    lines += [
        "",
        "The source tree's figure (section coldstart) imports app.py with the venv's "
        "site-packages and bytecode, on SQLite.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--request", choices=list(REQUESTS), action="append", help="only these (default: all)"
    )
    parser.add_argument(
        "--variant", choices=list(VARIANTS), action="append", help="only these (default: all)"
    )
    args = parser.parse_args()
    rows = measure(args.runs, tuple(args.request or REQUESTS), tuple(args.variant or VARIANTS))
    text = report(rows, args.runs, tls_setup())
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "RESULTS.md", "coldstart-packaged", text)


if __name__ == "__main__":
    main()
