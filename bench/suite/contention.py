"""Checkout contention for the suite: N buyers as processes, our checkout only.

    scripts/with-test-servers .venv/bin/python -m bench.suite.contention [--buyers 50] [--rounds 2]

A short cut through bench/checkout_contention/run.py (which runs 50 and 200 buyers,
threads and processes, five algorithms): the same database, seeding and round
(`create_database`, `bench_engine`, `seed`, `run_round`, `summarise`), called for one
crowd, one forked process per buyer (Lambda containers), the app's own checkout. Prints
one Markdown table row per run.
"""

from __future__ import annotations

import argparse
import os

from bench.checkout_contention import run as contention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not server_url or not redis_url:
        raise SystemExit("run under scripts/with-test-servers (TEST_DATABASE_URL, TEST_REDIS_URL)")
    os.environ.setdefault("SHOP_STAGE", "local")
    url = contention.create_database(server_url)
    os.environ["REDIS_URL"] = redis_url
    import redis as redis_lib

    redis = redis_lib.Redis.from_url(
        redis_url, decode_responses=True, max_connections=args.buyers + 5
    )
    engine = contention.bench_engine(url, args.buyers + 5)
    ours = next(name for name in contention.ALGORITHMS if name.startswith("ours ("))
    try:
        sku_id, buyers = contention.seed(engine, args.buyers)
        rounds = [
            contention.run_round("processes", engine, redis, ours, sku_id, buyers, args.buyers // 2)
            for _ in range(args.rounds)
        ]
    finally:
        engine.dispose()
    s = contention.summarise("processes", args.buyers, ours, rounds)
    print(
        "| buyers | as | stock | algorithm | rounds | orders/s | p50 ms | p95 ms "
        "| sold per round | oversold | refused with stock left | DB errors |"
    )
    print("|---:|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|")
    print(
        f"| {s.crowd} | {s.mode} | {s.stock} | {s.algorithm} | {s.rounds} "
        f"| {s.orders_per_second:.0f} | {s.p50_ms:.1f} | {s.p95_ms:.1f} | {s.sold} "
        f"| {s.oversold} | {s.refused_with_stock_left} | {s.errors} |"
    )


if __name__ == "__main__":
    main()
