"""The suite's figures as Markdown: the `## suite` section of bench/RESULTS.md. Pure functions.

`results` is what bench/suite/run.py gathers (and saves as bench/suite.json):

    {"machine": {...}, "started": "...", "finished": "...", "wall_seconds": s,
     "load": {"before": [1, 5, 15], "after": [...]}, "runs": n, "warmup": n,
     "scales": [{"label": "20k", "users": n, "skus": n, "orders": n,
                 "generate_seconds": s, "rss_mb": {"now": n, "peak": n},
                 "load": {...},
                 "endpoints": {name: {"request": "GET /home/", "p50": ms, "p95": ms,
                                      "sql": n, "sql_kinds": {kind: n}, "redis": n}}}],
     "coldstart": "<table>", "coldstart_packaged": "<table>",
     "per_request": "<table>", "contention": "<table>", "contention_warm": "<table>",
     "memory": "<table>", "errors": {bench: "..."}}
"""

from __future__ import annotations

from typing import Any

SECTION = "suite"
FLOOR = "hello-world Chalice (floor)"


def first_table(text: str) -> str:
    """The first Markdown table printed in `text` (its lines, as printed), or ''."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break
    return "\n".join(lines)


def replace_section(text: str, name: str, section: str) -> str:
    """`text` with its `## name` section replaced by `section` (appended if absent); every
    other section is left as it was."""
    marker = f"## {name}\n"
    section = section.rstrip("\n") + "\n"
    if text.startswith(marker):
        start = 0
    else:
        found = text.find("\n" + marker)
        if found == -1:
            return text.rstrip("\n") + "\n\n" + section
        start = found + 1
    following = text.find("\n## ", start)
    if following == -1:
        return text[:start] + section
    return text[:start] + section + "\n" + text[following + 1 :]


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def endpoint_table(results: dict[str, Any]) -> list[str]:
    scales = results["scales"]
    head = ["endpoint", "request"]
    for scale in scales:
        label = scale["label"]
        head += [
            f"{label} p50",
            f"{label} p95",
            f"{label} SQL",
            f"{label} Redis",
            f"{label} / floor",
        ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * (5 * len(scales)),
    ]
    for name, first in scales[0]["endpoints"].items():
        cells = [name, f"`{first['request']}`"]
        for scale in scales:
            found = scale["endpoints"].get(name)
            if found is None:
                cells += ["-"] * 5
                continue
            floor = scale["endpoints"][FLOOR]["p50"]
            cells += [
                f"{found['p50']:.2f}",
                f"{found['p95']:.2f}",
                _number(found["sql"]),
                _number(found["redis"]),
                "1" if name == FLOOR else f"{found['p50'] / floor:.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    scales = results["scales"]
    load = results["load"]
    minutes, seconds = divmod(round(results["wall_seconds"]), 60)
    lines = [
        f"## {SECTION}",
        "",
        f"`make bench` ({results['started']} to {results['finished']} UTC, {minutes} min "
        f"{seconds:02d} s in all): `scripts/with-test-servers .venv/bin/python -m "
        f"bench.suite.run --write`, then `bench/suite/chart.py` draws bench/suite.png. "
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['ram_gb']:.0f} GB RAM, "
        f"Python {machine['python']}, MariaDB {machine['mariadb']} "
        f"(innodb_buffer_pool_size {machine['buffer_pool_gb']:.0f} GiB, loopback), "
        f"Redis {machine['redis']}; shared with other work. Load average (1/5/15 min) "
        f"before {_load(load['before'])}, after {_load(load['after'])}.",
        "",
        "Data from the one generator, a fresh database per scale: "
        + "; ".join(
            f"{scale['label']}: `manage.py generate --users {scale['users']} --skus "
            f"{scale['skus']} --orders {scale['orders']}` ({scale['generate_seconds']:.0f} s; "
            f"the requests then took {scale.get('measure_seconds', 0):.0f} s)"
            for scale in scales
        )
        + ". Then `manage.py runjob rollup-stats`, the hourly job a running shop has had ("
        + ", ".join(f"{scale['label']} {scale.get('rollup_seconds', 0):.1f} s" for scale in scales)
        + "): total_count reads its daily_stats rows instead of counting every user.",
        "",
        "Each request is an API Gateway proxy event handed to the Lambda handler (`app.app`, "
        "in-process, local stage on MariaDB + Redis, JSON logs on), "
        f"{results['warmup']} warm-up rounds then {results['runs']} timed ones, each round "
        "calling every row once (round robin: load from other work falls on all rows alike, "
        "and each call follows other requests, as in a container serving mixed traffic); "
        "p50/p95 in ms. "
        "SQL: commands the pymysql driver sent per call (median); Redis: round trips per "
        "call (a pipeline is one). Floor: a hello-world Chalice() app with one route, "
        "called the same way in the same process; `/ floor` is p50 over the floor's p50. "
        "Place order: a fresh cart line (1 unit of a SKU with ample stock) before each "
        "call; notify: Alipay's RSA2-signed notify for the order just placed (each call "
        "pays a new order, signed outside the timing).",
        "",
        *endpoint_table(results),
        "",
        "Statements by kind (the last timed call, largest scale):",
        "",
        "| endpoint | statements |",
        "|---|---|",
    ]
    last = scales[-1]["endpoints"]
    lines += [
        f"| {name} | {_kinds(found['sql_kinds']) or 'none'} |" for name, found in last.items()
    ]
    lines += [
        "",
        "RSS of the process that served these calls (the in-process Lambda handler), after "
        "the last call: "
        + "; ".join(
            f"{scale['label']} {scale['rss_mb']['now']} MB (peak {scale['rss_mb']['peak']} MB)"
            for scale in scales
        )
        + ". Load average after each scale: "
        + "; ".join(f"{scale['label']} {_load(scale['load'])}" for scale in scales)
        + ".",
    ]
    parts = [
        ("coldstart", "Cold start, source tree (`python -m bench.coldstart.run`):"),
        (
            "coldstart_packaged",
            "Cold start, packaged (`python -m bench.coldstart.packaged`, build/dev/"
            "deployment.zip on MariaDB + Redis):",
        ),
        (
            "per_request",
            "Admin reads per request against the tree issue 16 started from (`python -m "
            "bench.per_request.run --before <BASELINE tree> --every-admin-read --rounds 3 --runs "
            "200`: in-process, "
            "each tree on a database its own code filled; `above floor` is a request's p50 "
            "less the staff-only hello's, the auth floor; the issue asks for a ratio of at "
            "most 0.5):",
        ),
        (
            "contention",
            "Checkout contention, cold (`python -m bench.checkout_contention.run --crowds 50 "
            "--modes processes --only-ours --rounds 3`: our checkout, one process per buyer "
            "forked after the app's init, so each loads the checkout and compiles its "
            "statements after the barrier, as a cold Lambda container's first request does; "
            "50 such processes share 2 cores here, where Lambda gives each its own):",
        ),
        (
            "contention_warm",
            "Checkout contention, warm (the same with `--warm`: the buyers are forked after a "
            "rolled-back checkout, as warm Lambda containers; the issue's 363 ms):",
        ),
        (
            "memory",
            "RSS of `make run`'s server after concurrent logins (`python -m bench.memory.run`):",
        ),
    ]
    for key, title in parts:
        took = results.get("seconds", {}).get(key)
        load_after = results.get("load_after", {}).get(key)
        if took is not None and load_after is not None:
            title = title[:-1] + f" ({took:.0f} s; load average {_load(load_after)} after):"
        elif took is not None:
            title = title[:-1] + f" ({took:.0f} s):"
        lines += ["", title, ""]
        table = results.get(key) or ""
        error = results.get("errors", {}).get(key)
        lines.append(table if table else f"not measured: {error or 'no table printed'}")
    return "\n".join(lines) + "\n"


def _load(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)
