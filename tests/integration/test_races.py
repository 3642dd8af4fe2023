"""Races: the same request RACERS times at once, for every route whose entry in
tests/functional/hardening/routes.py has `race=`, on real MariaDB and Redis only.

The requests go over HTTP to chalice's threaded local server (one thread, one pooled
MariaDB connection per request, as `manage.py run` serves them), released together by a
barrier: the database sees them concurrently, which threads through the in-process test
client on SQLite would not show. Every answer must be the entry's (a 2xx or the
documented 4xx, in the counts given) and the effect that of one request (or the entry's
`raced`, for a route that acts each time, like a recharge).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.functional.hardening.routes import RACERS, ROUTES, Replay, replay_id
from tests.functional.hardening.world import Call, world_for_replays

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="races need a real MariaDB (TEST_DATABASE_URL)",
)

RACES = [(key, replay) for key, case in ROUTES.items() for replay in case.replays if replay.race]


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """The app behind chalice's threaded local server (one thread per request)."""
    from devtools.local_server import build_server

    local = build_server(ROOT, "127.0.0.1", 0)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    host, port = local.server.server_address[:2]
    yield f"http://{host}:{port}"
    local.server.shutdown()
    local.server.server_close()
    thread.join(timeout=10)


def race(server: str, call: Call) -> list[tuple[int, Any]]:
    start = threading.Barrier(RACERS)

    def one(_: int) -> tuple[int, Any]:
        start.wait()
        return call.send_http(server)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def _tally(
    answers: list[tuple[int, Any]], expected: dict[int | tuple[int, ...], int]
) -> dict[int | tuple[int, ...], int]:
    """The answers counted under the entry's keys (a tuple key counts any of its statuses;
    a status under no key counts as itself, and fails the comparison)."""
    tally: Counter[int | tuple[int, ...]] = Counter()
    for status, _ in answers:
        key = next(
            (k for k in expected if k == status or (isinstance(k, tuple) and status in k)),
            status,
        )
        tally[key] += 1
    return dict(tally)


@pytest.mark.parametrize(("key", "replay"), RACES, ids=replay_id)
def test_identical_requests_at_once_act_once(
    server: str,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    key: tuple[str, str],
    replay: Replay,
) -> None:
    # given a valid request, and the effect one of it has (from its replay entry)
    world = world_for_replays(client, monkeypatch, tmp_path)
    call = (replay.build or ROUTES[key].build)(world)
    assert replay.effect is not None and replay.effects is not None and replay.race is not None
    assert replay.effect(world, call) == replay.effects[0]

    # when RACERS copies of it arrive at once
    answers = race(server, call)

    # then the answers are the entry's, and the effect is that of one request
    assert _tally(answers, replay.race) == replay.race, answers
    expected = replay.effects[1] if replay.raced is None else replay.raced
    assert replay.effect(world, call) == expected
