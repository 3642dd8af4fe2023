"""A black-holed FastDFS tracker (the fault proxy's "hold": connections accepted, never
answered) costs a call its deadline; after BREAKER_FAILURES such calls the storage
breaker opens and uploads fail at once with 503 (no connection tried, nothing stored,
no row), /health/ says so, and after the cool-down a trial call brings it back.
Both passes: the fake FastDFS server is the same on each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.fastdfs_server import FakeFastDFS
from tests.fakes.tcp_proxy import TcpProxy
from tests.functional.images.conftest import (
    FASTDFS_MEDIA_URL,
    TEST_DEADLINE_SECONDS,
    image_rows,
    send_form,
)
from tests.functional.images.forms import image_bytes

# Long enough that the request after the breaker opened still finds it open on a loaded
# machine (at 2 s it once was half-open already, and that request was the trial).
COOLDOWN = 4.0  # under the adapter's own Retry-After (5), so the two are told apart
SLACK = 1.5  # threads and the test client on a loaded 2-core machine
AT_ONCE = 0.5


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeFastDFS, TcpProxy]]:
    """FastDFS whose tracker is reached through the fault proxy."""
    with FakeFastDFS() as fake:
        proxy = TcpProxy(("127.0.0.1", fake.tracker.port)).start()
        monkeypatch.setenv(
            "STORAGE_URL", f"fastdfs://127.0.0.1:{proxy.port}?timeout={TEST_DEADLINE_SECONDS}"
        )
        monkeypatch.setenv("MEDIA_URL", FASTDFS_MEDIA_URL)
        monkeypatch.setenv("BREAKER_FAILURES", "2")
        monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", str(COOLDOWN))
        yield fake, proxy
        proxy.close()


def upload(client: Any, staff: dict[str, str], sku_id: int) -> tuple[float, Any]:
    started = time.monotonic()
    response = send_form(
        client,
        "POST",
        "/meiduo_admin/skus/images/",
        {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")},
        staff,
    )
    return time.monotonic() - started, response


def test_a_black_holed_tracker_costs_the_deadline_then_nothing_until_it_returns(
    client: Any,
    staff: dict[str, str],
    make_sku: Any,
    db: Any,
    stalled: tuple[FakeFastDFS, TcpProxy],
) -> None:
    fake, proxy = stalled
    sku_id = make_sku()
    proxy.mode = "hold"

    for _ in range(2):
        took, response = upload(client, staff, sku_id)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert took <= TEST_DEADLINE_SECONDS + SLACK
    tried = proxy.connections
    took, response = upload(client, staff, sku_id)
    health = client.http.get("/health/")

    assert response.status_code == 503
    assert response.json_body["code"] == "service_unavailable"
    assert 1 <= int(response.headers["Retry-After"]) <= COOLDOWN
    assert took <= AT_ONCE
    assert proxy.connections == tried  # open: not even a connection was tried
    assert health.status_code == 503
    assert health.json_body["storage"] == "unavailable"
    assert health.json_body["circuits"]["storage"] == "open"
    assert image_rows(db) == []
    assert fake.files == {}

    proxy.mode = "forward"
    time.sleep(COOLDOWN)
    _, response = upload(client, staff, sku_id)
    health = client.http.get("/health/")

    assert response.status_code == 201, response.body
    assert len(image_rows(db)) == 1
    assert len(fake.files) == 1
    assert health.json_body["circuits"]["storage"] == "closed"


def test_an_error_status_is_an_answer_and_leaves_the_breaker_closed(
    client: Any, stalled: tuple[FakeFastDFS, TcpProxy]
) -> None:
    from chalicelib import resources
    from chalicelib.adapters.storage import StorageUnavailable
    from tests.fakes.fastdfs_server import TRACKER_QUERY_STORE

    fake, _proxy = stalled
    fake.fail("error_status", TRACKER_QUERY_STORE)
    storage = resources.storage()
    for _ in range(3):
        with pytest.raises(StorageUnavailable):
            storage.ping()

    assert client.http.get("/health/").json_body["circuits"]["storage"] == "closed"
