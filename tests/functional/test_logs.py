"""Structured logs: one JSON line per request and per job run, on stdout, as Lambda runs them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REAL_DATABASE
from tests.packaged import api_event


class Context:
    function_name = "jiadian-shop-dev"
    memory_limit_in_mb = 1024

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 29000


def lines(captured: str) -> list[dict[str, Any]]:
    """Every line written to stdout, each of which must be one JSON object."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def without_timing(line: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(line.pop("timestamp"), str)
    latency = line.pop("latency_ms", 0.0)
    assert isinstance(latency, float) and latency >= 0
    return line


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if this were a new Lambda container: its next invocation is the cold start."""
    from chalicelib.observability import entry

    monkeypatch.setitem(entry._process, "cold", True)


@pytest.fixture
def warm_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container that has served an invocation already."""
    from chalicelib.observability import entry

    monkeypatch.setitem(entry._process, "cold", False)


def test_each_request_is_one_json_line_with_request_id_route_status_user_and_cold_start(
    database_url: str,
    make_user: Any,
    token_for: Any,
    fresh_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app import app

    # given a user with a token, in a container that has served nothing yet
    user = make_user("zhao_liu")
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    capsys.readouterr()

    # when two requests come through the Lambda entry point
    first = app(api_event("GET", "/user/", "/user", headers=headers), Context("req-1"))
    second = app(
        api_event(
            "GET",
            "/usernames/zhao_liu/count/",
            "/usernames/{username}/count",
            path_parameters={"username": "zhao_liu"},
        ),
        Context("req-2"),
    )

    # then each wrote exactly one line to stdout: the request's, as JSON
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert [without_timing(line) for line in lines(capsys.readouterr().out)] == [
        {
            "level": "INFO",
            "logger": "shop.request",
            "message": "GET /user 200",
            "request_id": "req-1",
            "user_id": user.id,
            "route": "/user",
            "method": "GET",
            "status": 200,
            "cold_start": True,
        },
        {
            "level": "INFO",
            "logger": "shop.request",
            "message": "GET /usernames/{username}/count 200",
            "request_id": "req-2",
            "route": "/usernames/{username}/count",
            "method": "GET",
            "status": 200,
            "cold_start": False,
        },
    ]


def test_an_unexpected_error_logs_its_stack_as_a_field_of_the_requests_line(
    database_url: str,
    make_user: Any,
    token_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    warm_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app import app
    from chalicelib.services import accounts

    # given a service that fails in a way nobody foresaw
    user = make_user("qian_qi")
    headers = {"Authorization": f"Bearer {token_for(user)}"}

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the profile store fell over")

    monkeypatch.setattr(accounts, "get_user", broken)
    capsys.readouterr()

    # when the request that uses it comes in
    response = app(api_event("GET", "/user/", "/user", headers=headers), Context("req-500"))

    # then the answer is a bare 500, and the log has the error with its stack, then the line
    assert response["statusCode"] == 500
    error, request = lines(capsys.readouterr().out)
    assert (error["level"], error["logger"], error["message"], error["request_id"]) == (
        "ERROR",
        "shop.api",
        "unhandled error on GET /user",
        "req-500",
    )
    assert error["user_id"] == user.id
    assert (error["error"]["type"], error["error"]["message"]) == (
        "RuntimeError",
        "the profile store fell over",
    )
    assert error["error"]["stack"].startswith("Traceback (most recent call last):")
    assert (
        'in broken\n    raise RuntimeError("the profile store fell over")'
        in (error["error"]["stack"])
    )
    assert without_timing(request) == {
        "level": "ERROR",
        "logger": "shop.request",
        "message": "GET /user 500",
        "request_id": "req-500",
        "user_id": user.id,
        "route": "/user",
        "method": "GET",
        "status": 500,
        "cold_start": False,
    }


def test_each_job_run_is_one_json_line_with_its_outcome(
    database_url: str, warm_process: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import jobs

    # given nothing to retry
    capsys.readouterr()

    # when EventBridge runs the job through the handler Lambda calls
    result = jobs.job_retry_file_deletions(jobs.scheduled_event(), Context("job-1"))

    # then its line says which job, how it went and what it did
    (line,) = lines(capsys.readouterr().out)
    assert without_timing(line) == {
        "level": "INFO",
        "logger": "shop.job",
        "message": "job job_retry_file_deletions ok",
        "request_id": "job-1",
        "job": "job_retry_file_deletions",
        "cold_start": False,
        "outcome": "ok",
        "result": result,
    }


def test_a_failing_job_logs_its_stack_and_still_fails(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    warm_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chalicelib import jobs
    from chalicelib.services import images

    # given a job whose service fails
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("storage index unreadable")

    monkeypatch.setattr(images, "retry_file_deletions", broken)
    capsys.readouterr()

    # when it runs, then it raises (Lambda records the failure and EventBridge retries)
    with pytest.raises(RuntimeError, match="storage index unreadable"):
        jobs.job_retry_file_deletions(jobs.scheduled_event(), Context("job-2"))

    # and its line says so, with the stack
    (line,) = lines(capsys.readouterr().out)
    stack = line["error"].pop("stack")
    assert 'raise RuntimeError("storage index unreadable")' in stack
    assert without_timing(line) == {
        "level": "ERROR",
        "logger": "shop.job",
        "message": "job job_retry_file_deletions failed",
        "request_id": "job-2",
        "job": "job_retry_file_deletions",
        "cold_start": False,
        "outcome": "error",
        "error": {"type": "RuntimeError", "message": "storage index unreadable"},
    }


def test_a_database_error_is_logged_without_the_statements_values(
    database_url: str,
    make_user: Any,
    token_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    warm_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import text

    from app import app
    from chalicelib.services import accounts

    # given a service whose statement fails with a secret among its values
    user = make_user("zhou_jiu")
    headers = {"Authorization": f"Bearer {token_for(user)}"}

    secret = "-".join(["Hidden", "Value", str(7 * 11)])  # not in the source the stack quotes

    def failing(conn: Any, *_args: Any) -> Any:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})

    monkeypatch.setattr(accounts, "get_user", failing)
    capsys.readouterr()

    # when the request runs it
    response = app(api_event("GET", "/user/", "/user", headers=headers), Context("req-db"))

    # then the error is logged with its statement, and the value is not (SQLite's "no such
    # table" is an OperationalError, which the API treats as the database being down: 503)
    assert response["statusCode"] == (500 if REAL_DATABASE else 503)
    out = capsys.readouterr().out
    assert [line["logger"] for line in lines(out)] == ["shop.api", "shop.request"]
    assert "SELECT * FROM no_such_table WHERE x = " in out
    assert "[SQL parameters hidden due to hide_parameters=True]" in out
    assert secret not in out
