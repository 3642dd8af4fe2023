"""Importing app.py loads no heavy client library: they are imported on first use."""

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = [
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
]


def test_importing_the_app_loads_no_heavy_module() -> None:
    code = f"import sys, json, app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
