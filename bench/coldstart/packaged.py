"""Cold start of the packaged API handler: the built zip, with and without its bytecode.

The source-tree figure (bench/coldstart/run.py) imports app.py from the checkout with
the venv's site-packages. This one runs what Lambda runs: build/dev/deployment.zip
(built by scripts/package when stale), unpacked into a folder, imported in a clean
interpreter (`python -I -S -B`, sys.path = the folder + the standard library), on the
dev stage against real MariaDB and Redis. Each run is a new process, as a new Lambda
container would be; "without bytecode" removes every shipped __pycache__, which is what
Lambda does with a package that has none (its /var/task is read-only, nothing is
cached between containers).

Usage (needs the servers):
    scripts/with-test-servers .venv/bin/python -m bench.coldstart.packaged [--runs 7] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.coldstart.run import write_section

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


def settings(database_url: str, redis_url: str) -> dict[str, str]:
    # Storage and Alipay are required settings but this request never contacts them.
    return {
        "SHOP_STAGE": "dev",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STORAGE_URL": "fastdfs://127.0.0.1:22122",
        "MEDIA_URL": "https://media.example.test/",
        "MAIL_URL": "sqs://https://sqs.us-east-1.amazonaws.com/000000000000/jiadian-shop-dev-mail",
        "MAIL_FROM": "家电之选 <no-reply@shop.example.test>",
        "API_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/api",
        "JWT_SECRET": "b" * 48,
        "ALIPAY_APP_ID": "2021000000000000",
        "ALIPAY_GATEWAY": "http://127.0.0.1:9/gateway.do",
    }


def cold_start(folder: Path, env: dict[str, str]) -> dict[str, float]:
    process = LambdaProcess(folder, "app.app", env)
    try:
        response = process.invoke(EVENT)
        assert response["statusCode"] == 200, response
        assert process.cold_start_seconds is not None
        return {
            "import": float(process.loaded["import_seconds"]),
            "first_request": float(process.first_invocation_seconds),
            "total": process.cold_start_seconds,
        }
    finally:
        process.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    server, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not (server and redis_url):
        sys.exit("run it under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")

    out = ensure_package("dev")
    name = f"shop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    database_url = server.rstrip("/") + "/" + name + "?charset=utf8mb4"
    env = child_environment(settings(database_url, redis_url), "jiadian-shop-dev")
    rows = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folders = {
                "with bytecode": unpack(out / "deployment.zip", Path(tmp) / "pyc"),
                "without bytecode": unpack(
                    out / "deployment.zip", Path(tmp) / "source", bytecode=False
                ),
            }
            migrate = LambdaProcess(folders["with bytecode"], "chalicelib.jobs.migrate", env)
            migrate.invoke({})
            migrate.close()
            for label, folder in folders.items():
                cold_start(folder, env)  # warm the OS file cache, as a busy Lambda host has it
                rows[label] = [cold_start(folder, env) for _ in range(args.runs)]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()

    def cell(samples: list[dict[str, float]], key: str) -> str:
        values = [s[key] * 1000 for s in samples]
        return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"

    zipped = (out / "deployment.zip").stat().st_size
    lines = [
        "## coldstart-packaged",
        "",
        f"`python -m bench.coldstart.packaged --runs {args.runs}` under scripts/with-test-servers: "
        f"build/dev/deployment.zip ({zipped / 1e6:.1f} MB) unpacked, each run a new "
        "`python -I -S -B` process (Python "
        f"{sys.version.split()[0]}, 2 cores) with only the package and the standard library "
        "on sys.path, dev stage on MariaDB + Redis; the first request is "
        "GET /usernames/{username}/count/ through the API handler (`app.app`). "
        f"Median (min-max); load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| package | import app | first request | whole cold start (process start to answer) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {cell(samples, 'import')} | {cell(samples, 'first_request')} | "
        f"{cell(samples, 'total')} |"
        for label, samples in rows.items()
    ]
    lines += [
        "",
        "The source tree's figure (section coldstart) imports app.py with the venv's "
        "site-packages and bytecode, on SQLite.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        write_section(ROOT / "bench" / "RESULTS.md", "coldstart-packaged", report)


if __name__ == "__main__":
    main()
