"""Replays: every state-changing route (POST, PUT, DELETE of app.routes) sent twice.

Each route's entry in routes.py says what the two answers are and what the route changes,
measured before, after the first and after the replay: the same result again, or a clean
4xx with nothing changed, never a 5xx, never a double effect, unless the contract says a
replay acts again (two cart adds of 1 make 2). The races, the same request N times at
once, run on MariaDB in tests/integration/test_races.py from the same entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.functional.hardening.routes import ROUTES, Replay, replay_id, route_key
from tests.functional.hardening.world import row_counts, world_for_replays

STATE_CHANGING = ("POST", "PUT", "DELETE")


def state_changing_routes() -> list[tuple[str, str]]:
    from app import app

    return sorted(
        route_key(method, path)
        for path, methods in app.routes.items()
        for method in methods
        if method in STATE_CHANGING
    )


def test_every_state_changing_route_has_a_replay_entry() -> None:
    missing = [
        key
        for key in state_changing_routes()
        if key not in ROUTES
        or not (ROUTES[key].replays or ROUTES[key].covered_by or ROUTES[key].exempt)
    ]
    assert missing == [], (
        "add a Case with replays=(Replay(...),) for these routes to "
        f"tests/functional/hardening/routes.py (see its docstring): {missing}"
    )


def test_every_entry_names_a_route_and_every_cited_test_exists() -> None:
    from app import app

    routes = {route_key(m, p) for p, methods in app.routes.items() for m in methods}
    assert sorted(set(ROUTES) - routes) == []
    for case in ROUTES.values():
        for cited in case.covered_by:
            path, name = cited.split("::")
            assert f"def {name}(" in (ROOT / path).read_text(), cited


REPLAYS = [(key, replay) for key, case in ROUTES.items() for replay in case.replays]


@pytest.mark.parametrize(("key", "replay"), REPLAYS, ids=replay_id)
def test_a_replay_acts_once_or_as_the_contract_says(
    client: Any,
    db: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    key: tuple[str, str],
    replay: Replay,
) -> None:
    # given a valid request and the state it changes
    world = world_for_replays(client, monkeypatch, tmp_path)
    call = (replay.build or ROUTES[key].build)(world)
    measure = replay.effect or (lambda w, c: None)
    before = measure(world, call)

    # when it is sent, then sent again
    first = call.send(client)
    after_first, rows = measure(world, call), row_counts(db)
    again = call.send(client)
    after_again = measure(world, call)

    # then the answers and the effects are the entry's, and a refused replay wrote nothing
    assert (first[0], again[0]) == replay.statuses, (first, again)
    if replay.effects is not None:
        assert (before, after_first, after_again) == replay.effects
    if again[0] >= 400:
        assert row_counts(db) == rows
