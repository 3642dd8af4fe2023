"""RSS of the local server (`make run`) after N concurrent logins, with glibc's default
malloc arenas and with the cap `devtools.local_server.serve` sets (two arenas).

Each login hashes with argon2 (19 MiB); the threaded server gives concurrent threads
arenas of their own, and glibc keeps what they freed. Both servers run the same code
on the same SQLite database, one after the other, started from nothing.

    .venv/bin/python -m bench.memory.run [--logins 80] [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USER = {"username": "memory_01", "password": "memory-password-1"}
# Serving exactly as `manage.py run`, with or without serve()'s arena cap.
SERVER = """
import sys
from pathlib import Path
from devtools import local_server
if sys.argv[2] == "capped":
    local_server.bound_malloc_arenas()
local_server.build_server(Path("."), "127.0.0.1", int(sys.argv[1])).serve_forever()
"""


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no VmRSS")


def call(port: int, path: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(response.status)


def measure(mode: str, port: int, logins: int, var_dir: str) -> tuple[int, int]:
    env = {**os.environ, "SHOP_VAR_DIR": var_dir}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        idle = rss_mb(server.pid)
        with concurrent.futures.ThreadPoolExecutor(logins) as pool:
            statuses = set(pool.map(lambda _: call(port, "/authorizations/", USER), range(logins)))
        assert statuses == {200}, statuses
        time.sleep(1)
        return idle, rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        env = {**os.environ, "SHOP_VAR_DIR": var_dir, "SHOP_SUPERUSER_PASSWORD": USER["password"]}
        for command in (
            ["migrate"],
            [
                "createsuperuser",
                "--username",
                USER["username"],
                "--email",
                "m@example.com",
                "--noinput",
            ],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        rows = []
        for round_ in range(args.rounds):
            for offset, mode in enumerate(("default", "capped")):
                port = 8390 + 2 * round_ + offset
                idle, after = measure(mode, port, args.logins, var_dir)
                rows.append((mode, idle, after))
                print(f"{mode:8} idle {idle:4d} MB, after {args.logins} logins {after:4d} MB")
    load = os.getloadavg()[0]
    table = ["| malloc arenas | idle RSS (MB) | after logins (MB), per round |", "|---|---:|---|"]
    for mode in ("default", "capped"):
        mine = [r for r in rows if r[0] == mode]
        label = "glibc default (8 x cores)" if mode == "default" else "2 (serve(), make run)"
        table.append(f"| {label} | {mine[0][1]} | {', '.join(str(r[2]) for r in mine)} |")
    text = "\n".join(table)
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(
                f"\n## memory\n\nRSS of the local server after {args.logins} concurrent "
                "logins (argon2id, 19 MiB per hash), "
                f"`python -m bench.memory.run --rounds {args.rounds}`; "
                f"load average {load:.1f} when it ended.\n\n{text}\n"
            )


if __name__ == "__main__":
    main()
