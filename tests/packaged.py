"""Run the built Lambda package the way Lambda does, outside AWS.

- `ensure_package(stage)`: build/<stage>/deployment.zip and sam.json, rebuilt by
  scripts/package when anything that goes into them is newer than the zip.
- `unpack(zip, folder, bytecode=...)`: the zip's files in a folder, as in /var/task;
  without bytecode, every shipped __pycache__ is removed.
- `LambdaProcess(folder, handler, env)`: one "container": a clean interpreter
  (`python -I -S -B`: no site-packages, no venv, no bytecode written) whose sys.path
  is that folder and the standard library. It imports the handler named in the
  template and calls it with events sent to it; the first call is the cold start.

The child speaks over its stdin/stdout in lines; its own logging may share stdout,
so answers carry a prefix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "@@lambda@@ "

# Lambda's bootstrap, reduced: import the module, look the handler up, call it per event.
RUNTIME = r"""
import json, sys, time, traceback
started = time.perf_counter()
task, handler_string = sys.argv[1], sys.argv[2]
sys.path.insert(0, task)
PREFIX = "@@lambda@@ "

def say(message):
    sys.stdout.write(PREFIX + json.dumps(message) + "\n")
    sys.stdout.flush()

class Context:
    def __init__(self, name, request_id):
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name
        self.memory_limit_in_mb = 1024
        self.aws_request_id = request_id
        self.log_group_name = "/aws/lambda/" + name
        self.log_stream_name = "2026/01/01/[$LATEST]test"
        self._deadline = time.monotonic() + 29
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

import importlib, os
module_name, _, attribute = handler_string.rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
imported = time.perf_counter()
stdlib = os.path.dirname(os.__file__)
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
say({"import_seconds": imported - started,
     "site_packages": [p for p in sys.path if "site-packages" in p],
     "outside_task": sorted(f for f in files if f and not f.startswith((task, stdlib)))})
count = 0
for line in sys.stdin:
    count += 1
    event = json.loads(line)
    began = time.perf_counter()
    try:
        result = handler(event, Context(os.environ["AWS_LAMBDA_FUNCTION_NAME"], f"req-{count}"))
        say({"result": result, "seconds": time.perf_counter() - began})
    except Exception:
        say({"error": traceback.format_exc(), "seconds": time.perf_counter() - began})
"""


def _inputs() -> list[Path]:
    """Everything scripts/package reads: a newer one makes the built zip stale."""
    files = [
        ROOT / "app.py",
        ROOT / "requirements.txt",
        ROOT / "scripts" / "package",
        *(ROOT / ".chalice").glob("*.json"),
    ]
    files += [
        p for p in (ROOT / "chalicelib").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    return files


def ensure_package(stage: str) -> Path:
    """build/<stage>/, rebuilt unless its zip is newer than every input."""
    out = ROOT / "build" / stage
    zipped = out / "deployment.zip"
    fresh = (
        zipped.is_file()
        and (out / "sam.json").is_file()
        and zipped.stat().st_mtime > max(p.stat().st_mtime for p in _inputs())
    )
    if not fresh:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "package"), "--stage", stage],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return out


def template_handlers(out: Path) -> dict[str, str]:
    """Function resource name -> handler string, as the template gives them to Lambda."""
    template = json.loads((out / "sam.json").read_text())
    return {
        name: resource["Properties"]["Handler"]
        for name, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }


def unpack(zipped: Path, folder: Path, *, bytecode: bool = True) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(folder)
    if not bytecode:
        for cache in list(folder.rglob("__pycache__")):
            shutil.rmtree(cache)
    return folder


class LambdaProcess:
    """One Lambda container running `handler` from `folder`, with `env` as its environment."""

    def __init__(self, folder: Path, handler: str, env: dict[str, str]) -> None:
        self.handler = handler
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-c", RUNTIME, str(folder), handler],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.loaded = self._read()
        self.cold_start_seconds: float | None = None

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(PREFIX):
                return dict(json.loads(line[len(PREFIX) :]))
        stderr = self.process.stderr.read() if self.process.stderr else ""
        raise AssertionError(f"{self.handler}: the runtime ended\n{stderr}")

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if self.cold_start_seconds is None:
            # the whole cold start: interpreter, import, first invocation
            self.cold_start_seconds = time.perf_counter() - self.started
            self.first_invocation_seconds = answer["seconds"]
        if "error" in answer:
            raise AssertionError(f"{self.handler} raised:\n{answer['error']}")
        return answer["result"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def api_event(
    method: str,
    path: str,
    resource: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway sends it to the API handler."""
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": "/api" + path,
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "000000000000",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "smoke-test"},
            "protocol": "HTTP/1.1",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(queue_name: str, *bodies: str) -> dict[str, Any]:
    """An SQS event, as Lambda's event source mapping delivers a queue's messages."""
    arn = f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"
    return {
        "Records": [
            {
                "messageId": f"00000000-0000-0000-0000-{n:012d}",
                "receiptHandle": f"receipt-{n}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767225600000",
                    "SenderId": "AROAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1767225600001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies, 1)
        ]
    }


def child_environment(settings: dict[str, str], function_name: str) -> dict[str, str]:
    """What Lambda gives a function: its stage's variables and its own, nothing from here."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": "UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_XRAY_SDK_ENABLED": "false",
        **settings,
    }
