"""What several benchmarks share: percentiles, the app's environment in a bench process,
a private database on the test server, and counting what the app sends to MariaDB and
Redis."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_JWT_SECRET = "bench-secret-" + "x" * 40


def percentile(samples: list[float], q: float) -> float:
    """The sample at rank q (nearest rank on the sorted samples); 0.5 is the median."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def app_environment(database_url: str, prefix: str) -> Path:
    """Point this process's app at `database_url` and the test Redis, local stage, with
    its files in a scratch folder of its own (returned)."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(
        {
            "SHOP_STAGE": "local",
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "JWT_SECRET": BENCH_JWT_SECRET,
            "SHOP_VAR_DIR": str(scratch / "var"),
            "STORAGE_URL": f"file://{scratch / 'media'}",
            "MEDIA_URL": "http://bench/media/",
            "AWS_XRAY_SDK_ENABLED": "false",
        }
    )
    return scratch


def fresh_database(name: str) -> str:
    """An empty database `name` on TEST_DATABASE_URL's server (dropped first); its URL."""
    from sqlalchemy import create_engine, text

    server_url = os.environ["TEST_DATABASE_URL"]
    server = create_engine(server_url)
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(
            text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    server.dispose()
    return server_url.rstrip("/") + f"/{name}?charset=utf8mb4"


def command_kind(text: str) -> str:
    """BEGIN, COMMIT, SELECT, SELECT FOR UPDATE, INSERT, UPDATE, ... of one query's text
    (MariaDB's `SET STATEMENT max_statement_time=.. FOR SELECT` is a SELECT)."""
    if text.startswith("SET STATEMENT"):
        text = text.split(" FOR ", 1)[1]
    word = text.split(None, 1)[0].upper() if text else "?"
    if word == "SELECT" and text.rstrip().upper().endswith("FOR UPDATE"):
        return "SELECT FOR UPDATE"
    return word


class Counting:
    """Commands the pymysql driver sends (by kind; COM_PING as PING) and Redis round trips
    (a pipeline is one), counted in the drivers from `install()` or the last `reset()`."""

    def __init__(self) -> None:
        self.sql: Counter[str] = Counter()
        self.redis = 0

    def install(self) -> None:
        import pymysql.connections
        import redis.connection

        send = pymysql.connections.Connection._execute_command
        packed = redis.connection.Connection.send_packed_command
        counting = self

        def counted_sql(conn: Any, command: int, sql: Any) -> Any:
            if command == 14:  # COM_PING
                counting.sql["PING"] += 1
            else:
                counting.sql[
                    command_kind(sql.decode() if isinstance(sql, bytes) else str(sql))
                ] += 1
            return send(conn, command, sql)

        def counted_redis(conn: Any, *args: Any, **kwargs: Any) -> Any:
            counting.redis += 1
            return packed(conn, *args, **kwargs)

        pymysql.connections.Connection._execute_command = counted_sql  # type: ignore[method-assign]
        redis.connection.Connection.send_packed_command = counted_redis  # type: ignore[method-assign]

    def reset(self) -> None:
        self.sql.clear()
        self.redis = 0
