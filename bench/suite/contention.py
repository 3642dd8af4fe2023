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
from typing import Any

from bench.checkout_contention import run as contention


def in_a_unit(checkout: Any) -> Any:
    """The checkout with a unit of work registered for its connection, if none is.

    bench/checkout_contention runs a checkout inside `with conn.begin()`; since
    services.orders.place registers its cart clean-up with engine.after_commit(), which
    needs a unit opened by transaction(), every buyer's checkout raised KeyError there (and
    the round waited on its barrier for buyers that had died). Registered here, outside
    that file (another branch is changing it); the clean-up hooks (one Redis pipeline after
    the commit, outside the row lock) are not run: each round resets the carts anyway.
    """

    def checkout_in_a_unit(conn: Any, redis: Any, user_id: int, address_id: int) -> Any:
        from chalicelib.db import engine

        units = engine._open_units
        if id(conn) in units:
            return checkout(conn, redis, user_id, address_id)
        units[id(conn)] = {"commit": [], "rollback": []}
        try:
            return checkout(conn, redis, user_id, address_id)
        finally:
            del units[id(conn)]

    return checkout_in_a_unit


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
    checkout, isolation = contention.ALGORITHMS[ours]
    contention.ALGORITHMS[ours] = (in_a_unit(checkout), isolation)  # forked buyers inherit it
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
