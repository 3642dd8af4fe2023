"""API Gateway REST (v1) proxy events for a Chalice app, as Lambda hands them to `app.app`.

`api_event` matches the path against the app's routes (chalice's own RouteMatcher, as
chalice local does) to fill in `resource` and `pathParameters`, then builds the event
the way API Gateway sends it (tests/packaged.py's api_event has the same shape): header
names as the client sent them, single and multi-value query parameters, the stage in
requestContext.path, a text body. Pure: no app import, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit


class Context:
    """What the Lambda runtime passes as the context (the parts Chalice and the app read)."""

    function_name = "bench-api-handler"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench-api-handler"
    log_group_name = "/aws/lambda/bench-api-handler"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def match(routes: Iterable[str], path: str) -> tuple[str, dict[str, str]]:
    """The route (resource) a path is served by and its captured path parameters."""
    from chalice.local import RouteMatcher

    found = RouteMatcher(list(routes)).match_route(path)
    return found.route, dict(found.captured)


def api_event(
    routes: Iterable[str],
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The proxy event for `method url` (url: path and query, unencoded) on these routes."""
    parts = urlsplit(url)
    path = parts.path
    resource, captured = match(routes, path)
    multi = parse_qs(parts.query, keep_blank_values=True) if parts.query else {}
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": captured or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": "/api" + quote(path),
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "000000000000",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench-suite"},
            "protocol": "HTTP/1.1",
        },
        "body": body,
        "isBase64Encoded": False,
    }
