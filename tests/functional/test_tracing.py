"""X-Ray tracing, read from the wire: a UDP socket on 127.0.0.1 stands in for the daemon.

The Lambda entry point (`app.app(event, context)`) gets API Gateway proxy events with
tracing switched on (AWS_XRAY_SDK_ENABLED=true; the stage stays local so both passes
run it, on SQLite and on MariaDB) and AWS_XRAY_DAEMON_ADDRESS pointing at the socket.
Outside Lambda the SDK has no facade segment, so each invocation is a segment of our
own; a second test runs one request in a fresh interpreter with LAMBDA_TASK_ROOT and
`_X_AMZN_TRACE_ID` set, as Lambda does, where the SDK's facade is the parent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REAL_DATABASE, ROOT
from tests.factories import ADDRESS
from tests.fakes.xray_daemon import XrayDaemon, descendants, flatten
from tests.packaged import api_event


@pytest.fixture
def daemon() -> Iterator[XrayDaemon]:
    receiver = XrayDaemon()
    yield receiver
    receiver.close()


@pytest.fixture
def traced(
    daemon: XrayDaemon, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[None]:
    from chalicelib.db.engine import dispose_all
    from chalicelib.observability import tracing

    monkeypatch.setenv("AWS_XRAY_SDK_ENABLED", "true")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    assert tracing.install()
    dispose_all()  # connections opened before pymysql was patched would not be traced
    yield
    dispose_all()


class Context:
    function_name = "jiadian-shop-dev"
    memory_limit_in_mb = 1024

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 29000


def call(method: str, path: str, resource: str, **kwargs: Any) -> tuple[int, Any]:
    from app import app

    response = app(api_event(method, path, resource, **kwargs), Context(f"req-{path}"))
    body = response["body"]
    return response["statusCode"], json.loads(body) if body else body


def checkout(make_sku: Any) -> dict[str, Any]:
    sku = make_sku(price="100.00", stock=5)
    json_headers = {"Content-Type": "application/json"}
    credentials = json.dumps({"username": "zhang_san", "password": "correct-horse-1"})
    signup = call("POST", "/users/", "/users", body=credentials, headers=json_headers)
    login = call(
        "POST", "/authorizations/", "/authorizations", body=credentials, headers=json_headers
    )
    bearer = {**json_headers, "Authorization": f"Bearer {login[1]['token']}"}
    added = call(
        "POST",
        "/cart/",
        "/cart",
        body=json.dumps({"sku_id": sku, "count": 2, "selected": True}),
        headers=bearer,
    )
    address = call(
        "POST",
        "/addresses/",
        "/addresses",
        body=json.dumps({"title": "家", **ADDRESS}),
        headers=bearer,
    )
    order = call(
        "POST",
        "/orders/",
        "/orders",
        body=json.dumps({"address_id": address[1]["id"], "pay_method": "alipay"}),
        headers=bearer,
    )
    assert [signup[0], login[0], added[0], address[0], order[0]] == [201, 200, 201, 201, 201]
    return {"user_id": signup[1]["id"], "order_id": order[1]["order_id"]}


def test_a_traced_checkout_sends_one_segment_per_request_with_redis_sql_and_annotations(
    traced: None, daemon: XrayDaemon, make_sku: Any
) -> None:
    # given tracing on and the daemon's address pointing at our socket
    # when a shopper signs up, logs in, fills the cart and places an order
    shopper = checkout(make_sku)

    # then each request is one segment of ours holding its `## METHOD /route` subsegment
    documents = daemon.received()
    everything = flatten(documents)
    segments = [d for d in documents if d.get("type") != "subsegment"]
    assert [s["name"] for s in segments] == ["jiadian-shop"] * 5
    invocations = {e["name"]: e for e in everything if e["name"].startswith("## ")}
    assert sorted(invocations) == [
        "## POST /addresses",
        "## POST /authorizations",
        "## POST /cart",
        "## POST /orders",
        "## POST /users",
    ]
    # and they carry route, method, and the user and the order where known
    assert invocations["## POST /users"]["annotations"] == {"route": "/users", "method": "POST"}
    assert invocations["## POST /cart"]["annotations"] == {
        "route": "/cart",
        "method": "POST",
        "user_id": shopper["user_id"],
    }
    assert invocations["## POST /orders"]["annotations"] == {
        "route": "/orders",
        "method": "POST",
        "user_id": shopper["user_id"],
        "order_id": shopper["order_id"],
    }
    # and Redis calls are subsegments with the command's name only (no keys, no values)
    cart_calls = descendants(invocations["## POST /cart"], everything)
    redis_calls = [e for e in cart_calls if e["name"] == "redis"]
    assert redis_calls
    assert {e["namespace"] for e in redis_calls} == {"remote"}
    commands = sorted(e["metadata"]["default"]["command"] for e in redis_calls)
    # (EXISTS: is the token logged out? HGET: the line held; the pipeline writes the line)
    assert commands == ["EXISTS", "HGET", "PIPELINE HINCRBY SADD EXPIRE EXPIRE"], commands
    # and SQL through pymysql is traced on MariaDB; SQLite has no driver the SDK patches
    order_calls = descendants(invocations["## POST /orders"], everything)
    sql_calls = [e for e in order_calls if "sql" in e]
    if REAL_DATABASE:
        assert sql_calls
        assert {e["sql"]["database_type"] for e in sql_calls} == {"MySQL"}
    else:
        assert sql_calls == []


def test_a_failing_tracer_never_fails_the_request(
    monkeypatch: pytest.MonkeyPatch, database_url: str, make_user: Any
) -> None:
    # given tracing on with a daemon address the SDK refuses
    monkeypatch.setenv("AWS_XRAY_SDK_ENABLED", "true")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "not an address")
    make_user("li_si")

    # when a request comes in
    status, body = call(
        "GET",
        "/usernames/li_si/count/",
        "/usernames/{username}/count",
        path_parameters={"username": "li_si"},
    )

    # then it is answered as if nothing were traced
    assert (status, body) == (200, {"username": "li_si", "count": 1})


LAMBDA_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from app import app
from tests.fakes.xray_daemon import XrayDaemon, descendants, flatten
from tests.packaged import api_event
class Context:
    aws_request_id = "lambda-req-1"
response = app(api_event("GET", "/usernames/wang_wu/count/", "/usernames/{username}/count",
                         path_parameters={"username": "wang_wu"}), Context())
print("@@" + json.dumps(response["statusCode"]))
"""


def test_on_lambda_the_requests_subsegment_hangs_under_the_facade_of_the_trace_header(
    daemon: XrayDaemon, database_url: str
) -> None:
    # given a fresh interpreter that sees Lambda's environment: task root and trace header
    root, parent = "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
    env = {
        **os.environ,
        "AWS_XRAY_SDK_ENABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        "LAMBDA_TASK_ROOT": str(ROOT),
        "_X_AMZN_TRACE_ID": f"Root={root};Parent={parent};Sampled=1",
        "DATABASE_URL": database_url,
    }

    # when it serves one request through the Lambda entry point
    result = subprocess.run(
        [sys.executable, "-c", LAMBDA_PROBE, str(ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    # then the request's subsegment is sent on its own, in Lambda's trace, under its facade
    assert result.stdout.splitlines()[-1] == "@@200"
    documents = daemon.received()
    names = [(d["name"], d.get("type")) for d in documents]
    assert ("jiadian-shop", None) not in names  # no segment of our own inside Lambda
    request = next(d for d in documents if d["name"] == "## GET /usernames/{username}/count")
    assert (request["trace_id"], request["parent_id"], request["type"]) == (
        root,
        parent,
        "subsegment",
    )
    assert request["annotations"] == {"route": "/usernames/{username}/count", "method": "GET"}


def test_a_request_on_the_local_stage_never_imports_the_xray_sdk(database_url: str) -> None:
    # given the local stage as config.json has it (AWS_XRAY_SDK_ENABLED=false)
    env = {**os.environ, "SHOP_STAGE": "local", "AWS_XRAY_SDK_ENABLED": "false"}

    # when a fresh process imports app.py and serves a request
    code = (
        "import sys, json, app\n"
        "from tests.packaged import api_event\n"
        "class C: aws_request_id = 'r'\n"
        "r = app.app(api_event('GET', '/usernames/a_b/count/', '/usernames/{username}/count',"
        " path_parameters={'username': 'a_b'}), C())\n"
        "print(json.dumps([r['statusCode'], 'aws_xray_sdk' in sys.modules]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    # then the SDK (~0.45 s to import) was never loaded
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, False]
