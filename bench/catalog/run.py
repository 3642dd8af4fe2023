"""GET /skus/ and GET /search/ latency at 100,000 SKUs on MariaDB, through the Lambda handler.

    scripts/with-test-servers .venv/bin/python bench/catalog/run.py [--skus 100000] [--runs 200]

Creates its own database on TEST_DATABASE_URL's server, migrates it, fills it with
`devtools.generate` (SKUs only), then calls `app.app(event, context)` in-process with
API Gateway proxy events built the way chalice's local gateway builds them. Every
query is run a few times to warm up, then `--runs` times; p50/p95/max are printed as
a Markdown table (paste into bench/RESULTS.md under `## catalog`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WARMUP = 5


def prepare(skus: int) -> str:
    from sqlalchemy import create_engine, text

    server = os.environ["TEST_DATABASE_URL"]
    name = f"shop_bench_catalog_{uuid.uuid4().hex[:6]}"
    engine = create_engine(server)
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    engine.dispose()
    url = server.rstrip("/") + "/" + name + "?charset=utf8mb4"
    os.environ["DATABASE_URL"] = url
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    from devtools.generate import generate

    print(generate(users=0, skus=skus, orders=0, seed=11), file=sys.stderr)
    return name


def drop(name: str) -> None:
    from sqlalchemy import create_engine, text

    from chalicelib.db.engine import dispose_all

    dispose_all()
    engine = create_engine(os.environ["TEST_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ.update(
        {
            "SHOP_STAGE": "local",
            "JWT_SECRET": "bench-secret-" + "x" * 40,
            "AWS_XRAY_SDK_ENABLED": "false",
            "MEDIA_URL": "http://bench/media/",
            "SHOP_VAR_DIR": "/tmp/shop-bench-catalog",
        }
    )
    if os.environ.get("TEST_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    name = prepare(args.skus)
    try:
        rows = measure(args.runs)
    finally:
        drop(name)
    print(f"\n{args.skus:,} SKUs on MariaDB, {args.runs} runs each after {WARMUP} warm-up runs\n")
    print("| request | matches | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for label, count, p50, p95, worst in rows:
        print(f"| `{label}` | {count:,} | {p50:.1f} | {p95:.1f} | {worst:.1f} |")


def measure(runs: int) -> list[tuple[str, int, float, float, float]]:
    from chalice.local import LambdaContext, LambdaEventConverter, RouteMatcher
    from sqlalchemy import select

    from app import app
    from chalicelib.db.engine import engine
    from chalicelib.db.tables import categories

    with engine().connect() as conn:
        leaf = conn.scalar(select(categories.c.id).where(categories.c.name == "冰箱"))
        top = conn.scalar(select(categories.c.id).where(categories.c.name == "大家电"))
    converter = LambdaEventConverter(RouteMatcher(list(app.routes)), app.api.binary_types)
    requests = [
        "/skus/?ordering=-sales",
        "/skus/?ordering=price&page=400",
        f"/skus/?category={leaf}&ordering=price",
        f"/skus/?category={top}&ordering=-create_time",
        f"/skus/?category={leaf}&ordering=-comments&page=50",
        "/search/?q=冰箱",
        "/search/?q=haier",
        "/search/?q=BCD-4",
        "/search/?q=一级能效&page=20",
        "/search/?q=不存在的商品",
        "/search/?q=白色",
        "/search/?q=FS40-294TX",
        "/search/?q=冰",
        "/search/?q=a",
    ]
    results = []
    for path in requests:
        encoded = quote(path, safe="/?=&")
        count = 0
        timings = []
        for run in range(WARMUP + runs):
            event = converter.create_lambda_event("GET", encoded, {"accept": "application/json"})
            context = LambdaContext("api_handler", 1024, max_runtime_ms=30_000)
            started = time.perf_counter()
            response: dict[str, Any] = app(event, context)
            elapsed = (time.perf_counter() - started) * 1000
            if response["statusCode"] != 200:
                raise RuntimeError(f"{path}: {response['statusCode']} {response['body']}")
            if run >= WARMUP:
                timings.append(elapsed)
            body = json.loads(response["body"])
            count = body["count"]
        if path.startswith("/search/"):
            check_against_a_like_scan(path, body)
        quantiles = statistics.quantiles(timings, n=100)
        results.append((path, count, statistics.median(timings), quantiles[94], max(timings)))
        print(f"{path}: p50 {results[-1][2]:.1f} ms p95 {results[-1][3]:.1f} ms", file=sys.stderr)
    return results


def check_against_a_like_scan(path: str, body: dict[str, Any]) -> None:
    """The page and count must be those of the plain LIKE over every SKU (exact search)."""
    from urllib.parse import parse_qs, urlsplit

    from sqlalchemy import and_, case, func, or_, select

    from chalicelib.db.engine import engine
    from chalicelib.db.tables import skus

    params = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
    q, page = params["q"], int(params.get("page", "1"))
    in_name = skus.c.name.contains(q, autoescape=True)
    matches = and_(skus.c.is_launched, or_(in_name, skus.c.caption.contains(q, autoescape=True)))
    with engine().connect() as conn:
        count = conn.scalar(select(func.count()).select_from(skus).where(matches))
        ids = list(
            conn.scalars(
                select(skus.c.id)
                .where(matches)
                .order_by(case((in_name, 0), else_=1), skus.c.sales.desc(), skus.c.id.desc())
                .offset((page - 1) * 10)
                .limit(10)
            )
        )
    if (body["count"], [item["id"] for item in body["lists"]]) != (count, ids):
        raise RuntimeError(f"{path}: search and a LIKE scan disagree")


if __name__ == "__main__":
    main()
