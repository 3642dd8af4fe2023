"""Cold start: a fresh process importing app.py and serving its first request.

Each run is a new Python process (as a new Lambda container would be): it imports
app.py, then handles one API Gateway proxy event through the Lambda entry point. Two
first requests are measured, each in processes of its own:

- public: GET /usernames/{username}/count/, a database read;
- admin: GET /meiduo_admin/statistical/total_count/ with a superuser's JWT, which also
  verifies the token (PyJWT), asks Redis for its deny-list entry and reads the user.

Reported per request: the import of app.py, the first request, and the whole cold start,
from starting the process to reading its answer (interpreter start-up included). Also
measured: the import time of each top-level dependency on its own, in a fresh process.

The source tree runs on the local stage with embedded SQLite; Redis is the embedded twin
(fakeredis) unless TEST_REDIS_URL names a server (scripts/with-test-servers), which the
report says.

Usage: .venv/bin/python -m bench.coldstart.run [--runs 7] [--write]

For other code (bench/suite): `measure(runs)` returns the samples, `report(...)` the
RESULTS.md section; `run_probe(env, request)` is one cold start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.packaged import api_event

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = [
    "chalice",
    "sqlalchemy",
    "pydantic",
    "pymysql",
    "argon2",
    "jwt",
    "redis",
    "boto3",
    "alipay",
    "fdfs_client",
    "aws_xray_sdk.core",
    "multipart",
]
# The whole cold start, process start to the first answer (issue 16).
TARGET_WHOLE_SECONDS = 0.25
# What app.py must not import (tests/unit/test_cold_start.py holds it to this list).
HEAVY = (
    "boto3",
    "botocore",
    "redis",
    "alipay",
    "fdfs_client",
    "aws_xray_sdk",
    "PIL",
    "multipart",
    "fakeredis",
    "jwt",
    "cryptography",
    "argon2",
    "pymysql",
    "pydantic",  # request models load on first use (chalicelib/api/models)
)
REQUESTS = {
    "public": ("GET /usernames/{username}/count/", "/usernames/alice_01/count/"),
    "admin": (
        "GET /meiduo_admin/statistical/total_count/ (staff JWT)",
        "/meiduo_admin/statistical/total_count/",
    ),
}
STAFF_USERNAME = "coldstaff"
JWT_SECRET = "b" * 48


def event_for(request: str, token: str | None) -> dict[str, Any]:
    path = REQUESTS[request][1]
    if request == "public":
        return api_event(
            "GET", path, "/usernames/{username}/count", path_parameters={"username": "alice_01"}
        )
    assert token, "the admin request needs a staff token (prepare())"
    return api_event("GET", path, path.rstrip("/"), headers={"Authorization": f"Bearer {token}"})


# Run in the child: import app, answer one event, print the figures at once (the parent
# stops its clock when it reads them; the interpreter's shutdown is not part of it).
PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = json.loads(sys.argv[1])
class Context:
    function_name = "bench"; memory_limit_in_mb = 1024; aws_request_id = "bench"
    def get_remaining_time_in_millis(self): return 29000
response = app.app(event, Context())
t2 = time.perf_counter()
heavy = sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)
print(json.dumps({"import": t1 - t0, "first_request": t2 - t1, "heavy_after_request": heavy,
                  "status": response["statusCode"], "body": response["body"][:300]}), flush=True)
"""


def run_probe(env: dict[str, str], request: str = "public") -> dict[str, Any]:
    """One cold start in a fresh process: import, first_request and whole (seconds)."""
    event = event_for(request, env.get("BENCH_STAFF_TOKEN"))
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", PROBE, json.dumps(event), json.dumps(HEAVY)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = ""
    for line in child.stdout:  # the app's own log lines may come first
        if line.startswith("{") and '"first_request"' in line:
            break
    whole = time.perf_counter() - started
    _, stderr = child.communicate()
    if child.returncode != 0 or '"first_request"' not in line:
        raise RuntimeError(f"cold start probe failed ({request}):\n{stderr}")
    sample: dict[str, Any] = json.loads(line)
    if sample["status"] != 200:
        raise RuntimeError(f"{request}: {sample['status']} {sample['body']}")
    sample["whole"] = whole
    return sample


def import_seconds(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def eagerly_imported() -> set[str]:
    """Which of DEPENDENCIES importing app.py loads (on the local stage)."""
    code = (
        "import sys, json, app\n"
        f"print(json.dumps([m for m in {DEPENDENCIES!r} if m in sys.modules]))"
    )
    env = {**os.environ, "SHOP_STAGE": "local", "AWS_XRAY_SDK_ENABLED": "false"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def prepare(folder: Path) -> dict[str, str]:
    """The probes' environment: a migrated SQLite database in `folder` holding a superuser,
    whose token is in BENCH_STAFF_TOKEN; bytecode compiled ahead, as a package has it."""
    env = {
        **os.environ,
        "SHOP_STAGE": "local",
        "SHOP_VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "AWS_XRAY_SDK_ENABLED": "false",
        "JWT_SECRET": JWT_SECRET,
    }
    env.pop("REDIS_URL", None)
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    subprocess.run(
        [sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    env["BENCH_STAFF_TOKEN"] = staff_token(env)
    # Bytecode compiled ahead, as in a package built with compileall (see ARCHITECTURE.md).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "chalicelib", "app.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return env


STAFF_SCRIPT = f"""
from chalicelib.db.engine import transaction
from chalicelib.services import accounts
with transaction() as conn:
    row = accounts.register(conn, username={STAFF_USERNAME!r}, password="bench-pass-1",
                            mobile=None, is_staff=True, is_superuser=True)
print(accounts.token_for(row))
"""


def staff_token(env: dict[str, str]) -> str:
    """Create the bench's superuser in env's database; its JWT (signed with env's secret)."""
    out = subprocess.run(
        [sys.executable, "-c", STAFF_SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def measure(
    runs: int = 7, requests: tuple[str, ...] = tuple(REQUESTS)
) -> dict[str, list[dict[str, Any]]]:
    """`runs` cold starts per request (after one unmeasured run that warms the OS file
    cache, as a warm Lambda host would have it); the runs of the requests alternate."""
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in requests}
        for name in requests:
            run_probe(env, name)
        for _ in range(runs):
            for name in requests:
                samples[name].append(run_probe(env, name))
    return samples


def ms(values: list[float]) -> str:
    values = [v * 1000 for v in values]
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def report(
    samples: dict[str, list[dict[str, Any]]], runs: int, deps: dict[str, float] | None = None
) -> str:
    python = sys.version.split()[0]
    redis = "a Redis server" if os.environ.get("TEST_REDIS_URL") else "embedded Redis (fakeredis)"
    lines = [
        "## coldstart",
        "",
        f"`python -m bench.coldstart.run --runs {runs}`: each run a fresh process "
        f"(Python {python}, {os.cpu_count()} cores) of the venv's interpreter on the source "
        f"tree, bytecode precompiled, local stage on embedded SQLite and {redis}; the Lambda "
        "entry point called with an API Gateway proxy event. Whole cold start: from starting "
        "the process to reading its answer. Median (min-max) of "
        f"{runs} runs per request; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| first request | import app.py | first request | whole cold start |",
        "|---|---|---|---|",
    ]
    for name, rows in samples.items():
        lines.append(
            f"| {REQUESTS[name][0]} | {ms([r['import'] for r in rows])} | "
            f"{ms([r['first_request'] for r in rows])} | {ms([r['whole'] for r in rows])} |"
        )
    lines.append("")
    for name, rows in samples.items():
        whole = statistics.median(r["whole"] for r in rows)
        met = "met" if whole <= TARGET_WHOLE_SECONDS else "MISSED"
        heavy = ", ".join(rows[-1]["heavy_after_request"]) or "none"
        lines.append(
            f"- {name}: whole cold start at most {TARGET_WHOLE_SECONDS * 1000:.0f} ms -> "
            f"**{met}** ({whole * 1000:.0f} ms). Heavy modules loaded by then: {heavy}."
        )
    if deps:
        eager = eagerly_imported()
        lines += [
            "",
            "Import time of each top-level dependency alone (fresh process, median of 3):",
            "",
            "| module | import | loaded by app.py at import? |",
            "|---|---|---|",
        ]
        lines += [
            f"| {name} | {seconds * 1000:.0f} ms | {'yes' if name in eager else 'no (first use)'} |"
            for name, seconds in deps.items()
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--request", choices=list(REQUESTS), action="append", help="only these (default: all)"
    )
    args = parser.parse_args()

    samples = measure(args.runs, tuple(args.request or REQUESTS))
    deps = {
        name: statistics.median(import_seconds(name) for _ in range(3)) for name in DEPENDENCIES
    }
    text = report(samples, args.runs, deps)
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "RESULTS.md", "coldstart", text)


def write_section(path: Path, name: str, report: str) -> None:
    """Replace (or add) the `## name` section of RESULTS.md, leaving the others as they are."""
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    marker = f"## {name}\n"
    if marker in text:
        start = text.index(marker)
        rest = text[start + len(marker) :]
        following = rest.find("\n## ")
        end = start + len(marker) + (following + 1 if following >= 0 else len(rest))
        text = text[:start] + report + ("\n" if following >= 0 else "") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + report
    path.write_text(text)


if __name__ == "__main__":
    main()
