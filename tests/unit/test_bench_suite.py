"""The pure parts of the benchmark suite (bench/suite): events, sections, tables. No timing."""

from __future__ import annotations

from typing import Any

from bench.common import percentile
from bench.suite import report
from bench.suite.events import api_event
from bench.suite.run import parse_scales

# as Chalice keeps them (app.routes): API Gateway resources have no trailing slash
ROUTES = ["/", "/skus/{sku_id}", "/search"]


def test_an_event_is_api_gateway_s_proxy_event_with_resource_and_path_parameters() -> None:
    event = api_event(ROUTES, "GET", "/skus/42/", headers={"Authorization": "Bearer t"})
    assert event == {
        "resource": "/skus/{sku_id}",
        "path": "/skus/42/",
        "httpMethod": "GET",
        "headers": {
            "Host": "abc123.execute-api.us-east-1.amazonaws.com",
            "Authorization": "Bearer t",
        },
        "multiValueHeaders": {
            "Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
            "Authorization": ["Bearer t"],
        },
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"sku_id": "42"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/skus/{sku_id}",
            "httpMethod": "GET",
            "path": "/api/skus/42/",
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "000000000000",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench-suite"},
            "protocol": "HTTP/1.1",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_an_event_carries_the_query_decoded_and_a_text_body() -> None:
    event = api_event(ROUTES, "POST", "/search/?q=冰箱&page=2&page=3", body="a=1")
    assert event["resource"] == "/search"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] == {"q": "冰箱", "page": "3"}
    assert event["multiValueQueryStringParameters"] == {"q": ["冰箱"], "page": ["2", "3"]}
    assert event["body"] == "a=1"
    assert event["httpMethod"] == "POST"


def test_scales_are_labelled_by_their_users() -> None:
    assert parse_scales("20000:2000:50000,1000000:10000:1000000") == [
        {"label": "20k", "users": 20000, "skus": 2000, "orders": 50000},
        {"label": "1M", "users": 1000000, "skus": 10000, "orders": 1000000},
    ]


def test_replacing_a_section_leaves_the_others_as_they_were() -> None:
    text = "# Results\n\n## a\n\nold a\n\n## suite\n\nold suite\n\n## b\n\nb text\n"
    assert report.replace_section(text, "suite", "## suite\n\nnew\n") == (
        "# Results\n\n## a\n\nold a\n\n## suite\n\nnew\n\n## b\n\nb text\n"
    )


def test_a_last_or_missing_section_is_replaced_or_appended() -> None:
    assert report.replace_section("# R\n\n## suite\n\nold\n", "suite", "## suite\n\nnew") == (
        "# R\n\n## suite\n\nnew\n"
    )
    assert report.replace_section("# R\n\n## suite-x\n\nx\n", "suite", "## suite\n\nnew\n") == (
        "# R\n\n## suite-x\n\nx\n\n## suite\n\nnew\n"
    )


def test_the_first_table_printed_is_kept_as_printed() -> None:
    printed = "default idle 89 MB\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| other |\n"
    assert report.first_table(printed) == "| a | b |\n|---|---|\n| 1 | 2 |"
    assert report.first_table("no table\n") == ""


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0


def _endpoint(request: str, p50: float, p95: float, sql: float, redis: float) -> dict[str, Any]:
    return {
        "request": request,
        "p50": p50,
        "p95": p95,
        "sql": sql,
        "sql_kinds": {"SELECT": int(sql)} if sql else {},
        "redis": redis,
    }


def test_the_endpoint_table_puts_each_scale_beside_the_other_with_its_ratio_to_the_floor() -> None:
    results = {
        "scales": [
            {
                "label": "20k",
                "endpoints": {
                    report.FLOOR: _endpoint("GET /", 0.02, 0.03, 0, 0),
                    "cart": _endpoint("GET /cart/", 1.7, 1.9, 2, 2),
                },
            },
            {
                "label": "1M",
                "endpoints": {
                    report.FLOOR: _endpoint("GET /", 0.025, 0.03, 0, 0),
                    "cart": _endpoint("GET /cart/", 2.0, 2.5, 2.5, 2),
                },
            },
        ]
    }
    assert report.endpoint_table(results) == [
        "| endpoint | request | 20k p50 | 20k p95 | 20k SQL | 20k Redis | 20k / floor "
        "| 1M p50 | 1M p95 | 1M SQL | 1M Redis | 1M / floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {report.FLOOR} | `GET /` | 0.02 | 0.03 | 0 | 0 | 1 | 0.03 | 0.03 | 0 | 0 | 1 |",
        "| cart | `GET /cart/` | 1.70 | 1.90 | 2 | 2 | 85 | 2.00 | 2.50 | 2.5 | 2 | 80 |",
    ]


def test_the_section_names_the_machine_the_load_and_what_was_not_measured() -> None:
    scale = {
        "label": "20k",
        "users": 20000,
        "skus": 2000,
        "orders": 50000,
        "generate_seconds": 12.4,
        "measure_seconds": 27.0,
        "rollup_seconds": 0.8,
        "rss_mb": {"now": 79, "peak": 88},
        "load": [1.0, 0.5, 0.25],
        "endpoints": {report.FLOOR: _endpoint("GET /", 0.02, 0.03, 0, 0)},
    }
    results = {
        "started": "2026-12-02 11:00",
        "finished": "2026-12-02 11:07",
        "wall_seconds": 425.4,
        "load": {"before": [0.5, 0.25, 0.0], "after": [2.0, 1.5, 1.0]},
        "machine": {
            "cores": 2,
            "cpu": "Xeon",
            "ram_gb": 23.5,
            "python": "3.11.7",
            "mariadb": "10.11.19-MariaDB",
            "buffer_pool_gb": 2.0,
            "redis": "7.0.15",
        },
        "runs": 200,
        "warmup": 20,
        "scales": [scale],
        "coldstart": "| measure | median |\n|---|---|\n| import app.py | 244 ms |",
        "seconds": {"coldstart": 8.2},
        "errors": {"memory": "skipped (--skip)", "contention": "exit 1: boom"},
    }
    lines = report.render(results).splitlines()
    assert lines[0] == "## suite"
    assert lines[2].startswith("`make bench` (2026-12-02 11:00 to 2026-12-02 11:07 UTC, 7 min 05 s")
    assert lines[2].endswith(
        "Machine: 2 cores (Xeon), 24 GB RAM, Python 3.11.7, MariaDB 10.11.19-MariaDB "
        "(innodb_buffer_pool_size 2 GiB, loopback), Redis 7.0.15; shared with other work. "
        "Load average (1/5/15 min) before 0.5/0.2/0.0, after 2.0/1.5/1.0."
    )
    assert "(12 s; the requests then took 27 s)" in lines[4]
    tail = lines[lines.index("Cold start, source tree (`python -m bench.coldstart.run`) (8 s):") :]
    assert tail[2:5] == ["| measure | median |", "|---|---|", "| import app.py | 244 ms |"]
    assert "not measured: exit 1: boom" in tail
    assert tail[-1] == "not measured: skipped (--skip)"
