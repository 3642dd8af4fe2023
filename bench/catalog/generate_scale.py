"""Time `manage.py generate` on a fresh MariaDB database (run under scripts/with-test-servers).

    scripts/with-test-servers .venv/bin/python bench/catalog/generate_scale.py \
        --users 1000000 --orders 1000000

Creates its own database on TEST_DATABASE_URL's server, migrates it, runs the generator
and prints the generator's summary plus row counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server = os.environ["TEST_DATABASE_URL"]
    from sqlalchemy import create_engine, text

    name = f"shop_gen_{uuid.uuid4().hex[:6]}"
    with create_engine(server).begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    os.environ["DATABASE_URL"] = server.rstrip("/") + "/" + name + "?charset=utf8mb4"
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    from devtools.generate import generate

    started = time.perf_counter()
    print(generate(users=args.users, skus=args.skus, orders=args.orders, seed=args.seed))
    print(f"wall {time.perf_counter() - started:.1f} s")
    from chalicelib.db.engine import engine

    with engine().connect() as conn:
        for table in ("users", "skus", "orders", "order_lines"):
            print(table, conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar())


if __name__ == "__main__":
    main()
