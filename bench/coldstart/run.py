"""Cold start: a fresh process importing app.py and serving its first request.

Each run is a new Python process (as a new Lambda container would be): it imports
app.py, then handles one API Gateway proxy event through the Lambda entry point
(GET /usernames/{username}/count/, which reads the database). Also measured: the
import time of each top-level dependency on its own, in a fresh process.

Usage: .venv/bin/python -m bench.coldstart.run [--runs 7] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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
TARGET_IMPORT_SECONDS = 0.5

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = {
    "resource": "/usernames/{username}/count", "path": "/usernames/alice_01/count/",
    "httpMethod": "GET", "headers": {"Host": "bench"}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"username": "alice_01"}, "stageVariables": None, "body": None,
    "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/usernames/{username}/count", "httpMethod": "GET",
                       "path": "/usernames/alice_01/count/", "stage": "api", "requestId": "bench",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
class Context:
    function_name = "bench"; memory_limit_in_mb = 1024; aws_request_id = "bench"
    def get_remaining_time_in_millis(self): return 29000
response = app.app(event, Context())
t2 = time.perf_counter()
assert response["statusCode"] == 200, response
heavy = sorted(m for m in ("boto3", "botocore", "redis", "alipay", "fdfs_client", "aws_xray_sdk",
                           "PIL", "multipart", "fakeredis") if m in sys.modules)
print(json.dumps({"import": t1 - t0, "first_request": t2 - t1, "heavy_after_request": heavy}))
"""


def run_probe(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_seconds(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SHOP_STAGE": "local",
            "SHOP_VAR_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "AWS_XRAY_SDK_ENABLED": "false",
            "JWT_SECRET": "b" * 48,
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        # Bytecode compiled ahead, as in a package built with compileall (see ARCHITECTURE.md).
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "chalicelib", "app.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        run_probe(env)  # warm the OS file cache once, as a warm Lambda host would be
        samples = [run_probe(env) for _ in range(args.runs)]
    imports = [s["import"] for s in samples]
    ms = {
        name: f"{fn(values) * 1000:.0f} ms"
        for name, fn, values in [
            ("import_median", statistics.median, imports),
            ("import_min", min, imports),
            ("import_max", max, imports),
        ]
    }
    heavy = samples[-1]["heavy_after_request"] or "none"
    met = "met" if statistics.median(imports) < TARGET_IMPORT_SECONDS else "MISSED"
    python = sys.version.split()[0]
    firsts = [s["first_request"] for s in samples]
    deps = {
        name: statistics.median(import_seconds(name) for _ in range(3)) for name in DEPENDENCIES
    }

    lines = [
        "## coldstart",
        "",
        f"`python -m bench.coldstart.run --runs {args.runs}`: each run a fresh process "
        f"(Python {python}, 2 cores), bytecode precompiled, embedded SQLite, the Lambda entry "
        "point called with an API Gateway proxy event.",
        "",
        "| measure | median | min | max |",
        "|---|---|---|---|",
        f"| import app.py | {ms['import_median']} | {ms['import_min']} | {ms['import_max']} |",
        f"| first request (GET /usernames/{{username}}/count/) | "
        f"{statistics.median(firsts) * 1000:.0f} ms | {min(firsts) * 1000:.0f} ms | "
        f"{max(firsts) * 1000:.0f} ms |",
        "",
        f"Target: app.py imports in under {TARGET_IMPORT_SECONDS * 1000:.0f} ms -> "
        f"**{met}**. Heavy modules loaded after the first request: {heavy}.",
        "",
        "Import time of each top-level dependency alone (fresh process, median of 3):",
        "",
        "| module | import | loaded by app.py at import? |",
        "|---|---|---|",
    ]
    eager = {"chalice", "sqlalchemy", "pydantic"}
    lines += [
        f"| {name} | {seconds * 1000:.0f} ms | {'yes' if name in eager else 'no (first use)'} |"
        for name, seconds in deps.items()
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        write_section(ROOT / "bench" / "RESULTS.md", "coldstart", report)


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
