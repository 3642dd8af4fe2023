"""Contract fuzzing: schemathesis generates requests from docs/openapi.yaml and sends
them to `manage.py run` (the real local server, on a free port) as a customer and as
staff. Every response must be documented (status, content type, schema), none a 5xx,
and requests that break the spec (negative mode) must be refused with a 4xx.

Runs in both passes: on the embedded defaults (the
server shares the test run's SQLite file) and on MariaDB + Redis (the server gets the
test database's URL). Bounded: a few examples per operation and mode, no shrinking,
a time limit per request.
"""

# ruff: noqa: B023 - each inner test runs at once, inside its loop iteration

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import REAL_REDIS, ROOT
from tests.integration.test_local_server import _connect, free_port
from tests.openapi_check import SPEC_PATH

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "4"))
# These would end the run's own tokens (logout denies the jti; a new password bumps the
# token version): tests/functional/accounts cover them.
SKIPPED = {("DELETE", "/authorizations/"), ("PUT", "/user/password/")}
# The local stage's own pages (api/dev.py: the Alipay simulator, the media folder) are
# no part of the deployed API.
LOCAL_ONLY = ("/alipay-sim/", "/media/")
# Alipay's notify answers every request 200 with the text `success` or `failure` (its
# contract: anything else is retried for 25 h); refusing bad input is its `failure`.
NO_NEGATIVE = {("POST", "/payments/alipay/notify/")}
# Known defects fixed on another branch (the Hardening issue): (method, path) -> reason.
KNOWN: dict[tuple[str, str], str] = {}


GENERATION_SECONDS = 8
REQUEST_SECONDS = 5


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = REQUEST_SECONDS
        return super().send(request, **kwargs)


class _OutOfTime(BaseException):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(*_: Any) -> None:
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def fuzz_server(database_url: str, tmp_path: Any) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url}
    if REAL_REDIS:
        env["REDIS_URL"] = REAL_REDIS
    # The server's output goes to a file: a pipe nobody reads fills up (64 KB of access
    # and JSON log lines) and then every request thread blocks in its log write.
    output = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _connect(port).close()
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        output.close()


def test_every_operation_keeps_the_contract(
    fuzz_server: str, make_user: Any, make_sku: Any, make_order: Any, token_for: Any
) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import checks
    from schemathesis.generation import GenerationMode

    customer = make_user("fuzz-customer")
    staff = make_user("fuzz-staff", is_staff=True, is_superuser=True)
    sku_id = make_sku(price="10.00", stock=100)
    make_order(customer.id, sku_id)
    callers = {
        "customer": {"Authorization": f"Bearer {token_for(customer)}"},
        "staff": {"Authorization": f"Bearer {token_for(staff)}"},
    }
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    response_checks = [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.negative_data_rejection,
    ]
    session = requests.Session()
    session.mount("http://", _TimeoutAdapter())  # schemathesis drops call(timeout=...)
    failures: list[str] = []
    starved: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    only = os.environ.get("FUZZ_ONLY")
    if only:
        operations = [op for op in operations if op.path == only]
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED or key in KNOWN or operation.path.startswith(LOCAL_ONLY):
            continue
        modes = [GenerationMode.POSITIVE]
        if key not in NO_NEGATIVE:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            for who, headers in callers.items():

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )
                def run(case: Any) -> None:
                    begun = time.monotonic()
                    try:
                        response = case.call(base_url=fuzz_server, session=session, headers=headers)
                    except (requests.Timeout, requests.ConnectionError):
                        failures.append(
                            f"{who} {mode.value} {key[0]} {key[1]}: no answer in 5 s\n"
                            f"    {case.as_curl_command(headers=headers)[:400]}"
                        )
                        return  # recorded; a raise would make hypothesis replay it
                    if os.environ.get("FUZZ_TRACE"):
                        print(f"{time.monotonic() - begun:6.2f}s {response.status_code} {key}")
                    try:
                        case.validate_response(response, checks=response_checks)
                    # schemathesis raises a FailureGroup, a BaseExceptionGroup, not an
                    # Exception: caught as such, or every failure would pass unseen
                    except (Exception, BaseExceptionGroup) as exc:  # collect them all
                        failures.append(
                            f"{who} {mode.value} {key[0]} {key[1]}: {str(exc)[:600]}\n"
                            f"    {case.as_curl_command(headers=headers)[:400]}"
                        )
                        raise

                try:
                    with _time_limit(GENERATION_SECONDS):
                        run()
                except _OutOfTime:
                    # schemathesis can search forever for a negative case of an operation
                    # that has nothing to break (a free-form path string, no body).
                    starved.append(f"{who} {mode.value} {key[0]} {key[1]}")
                except (Exception, BaseExceptionGroup):  # recorded above; on with the others
                    continue
    elapsed = time.monotonic() - started
    print(f"fuzzed {len(operations)} operations in {elapsed:.1f}s; out of time: {starved}")
    assert failures == [], "\n".join(failures)
