"""The FastDFS adapter over the wire, against the protocol-level fake server.

First the py3Fdfs facts the adapter is built around (re-checked here, so an upgrade
that changes them shows), then the adapter's guarantees: bytes round-trip, ENOENT
handling, tracker failover, and the deadline machinery (sockets, worker threads,
the bound on threads in flight).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters import storage as storage_module
from chalicelib.adapters.storage import (
    MAX_CALLS_IN_FLIGHT,
    FastdfsStorage,
    StorageUnavailable,
    parse_fastdfs_url,
)
from tests.fakes.fastdfs_server import (
    ACTIVE_TEST,
    STORAGE_APPEND,
    STORAGE_DELETE,
    STORAGE_DOWNLOAD,
    STORAGE_UPLOAD_APPENDER,
    TRACKER_QUERY_STORE,
    FakeFastDFS,
    dead_port,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
DEADLINE = 0.4
WELL_WITHIN = DEADLINE + 1.0


@pytest.fixture
def fake() -> Iterator[FakeFastDFS]:
    with FakeFastDFS(slow_seconds=5.0) as server:
        yield server


def adapter(url: str, timeout: float = DEADLINE) -> FastdfsStorage:
    return FastdfsStorage(parse_fastdfs_url(f"{url}?timeout={timeout}"), "http://img.test/")


def tracker_dict(fake: FakeFastDFS, timeout: float = 1) -> dict[str, Any]:
    return {"host_tuple": ("127.0.0.1",), "port": fake.tracker.port, "timeout": timeout}


# --- py3Fdfs as it is (docs/ARCHITECTURE.md, "Outside systems as measured") -------------


def test_py3fdfs_works_from_a_tracker_dict_and_returns_bytes_ids(fake: FakeFastDFS) -> None:
    from fdfs_client.client import Fdfs_client

    client = Fdfs_client(tracker_dict(fake))
    reply = client.upload_by_buffer(PNG, "png")

    assert isinstance(reply["Remote file_id"], bytes)
    assert reply["Remote file_id"].decode() in fake.files
    assert client.download_to_buffer(reply["Remote file_id"])["Content"] == PNG


def test_py3fdfs_downloads_with_an_offset_fail(fake: FakeFastDFS) -> None:
    from fdfs_client.client import Fdfs_client

    client = Fdfs_client(tracker_dict(fake))
    file_id = client.upload_by_buffer(PNG, "png")["Remote file_id"]

    with pytest.raises(UnboundLocalError):
        client.download_to_buffer(file_id, offset=4, down_bytes=4)


def test_py3fdfs_loops_forever_when_the_server_closes_mid_reply(fake: FakeFastDFS) -> None:
    """Its receive loop takes b"" (closed) as 'no bytes yet': the thread never ends and
    spins; its socket timeout never fires. (Freed here by closing its pooled socket.)"""
    from fdfs_client.client import Fdfs_client

    client = Fdfs_client(tracker_dict(fake, timeout=0.3))
    fake.fail("close_mid_reply", TRACKER_QUERY_STORE)

    def upload() -> None:
        # Once freed it fails formatting its own error message (TypeError): ignored here.
        with contextlib.suppress(Exception):
            client.upload_by_buffer(PNG, "png")

    stuck = threading.Thread(target=upload, daemon=True)
    stuck.start()
    stuck.join(1.0)  # well past its own 0.3 s socket timeout

    try:
        assert stuck.is_alive()
    finally:
        for conn in list(client.tracker_pool._conns_inuse):
            conn._sock.close()  # the next recv raises: the loop ends
        stuck.join(2)
    assert not stuck.is_alive()


# --- the adapter ----------------------------------------------------------------------


def test_save_read_delete_round_trip(fake: FakeFastDFS) -> None:
    store = adapter(fake.url)

    file_id = store.save(PNG, "png")

    assert (
        isinstance(file_id, str) and file_id.startswith("group1/M00/") and file_id.endswith(".png")
    )
    assert store.url(file_id) == "http://img.test/" + file_id
    assert store.read(file_id) == PNG
    store.delete(file_id)
    assert fake.files == {}
    store.delete(file_id)  # already gone: not an error
    with pytest.raises(FileNotFoundError):
        store.read(file_id)
    with pytest.raises(FileNotFoundError):
        store.read("no-group-separator")
    store.ping()


def test_a_dead_tracker_fails_over_to_the_next(fake: FakeFastDFS) -> None:
    store = adapter(f"fastdfs://127.0.0.1:{dead_port()},127.0.0.1:{fake.tracker.port}")

    file_ids = [store.save(PNG, "png") for _ in range(6)]  # random order: both come first

    assert sorted(fake.files) == sorted(file_ids)


@pytest.mark.parametrize(
    ("mode", "command"),
    [
        ("error_status", TRACKER_QUERY_STORE),
        ("close_mid_reply", TRACKER_QUERY_STORE),
        ("close_mid_reply", ACTIVE_TEST),
        ("close_mid_reply", STORAGE_UPLOAD_APPENDER),
        ("close_mid_reply", STORAGE_APPEND),
        ("slow", STORAGE_UPLOAD_APPENDER),
        ("close_mid_reply", STORAGE_DOWNLOAD),
    ],
)
def test_every_fault_is_storage_unavailable_within_the_deadline(
    fake: FakeFastDFS, mode: str, command: int
) -> None:
    store = adapter(fake.url)
    existing = store.save(PNG, "png")
    fake.fail(mode, command)

    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        if command == STORAGE_DOWNLOAD:
            store.read(existing)
        else:
            store.save(PNG, "png")
    elapsed = time.monotonic() - started

    assert elapsed < WELL_WITHIN
    if mode == "close_mid_reply":
        assert elapsed < DEADLINE  # not waited out: the closed connection fails at once
    assert set(fake.files) == {existing}


def test_refused_connections_are_unavailable_not_system_exit(fake: FakeFastDFS) -> None:
    """py3Fdfs' own pool retries a refused connect ten times, then calls sys.exit()."""
    store = adapter(f"fastdfs://127.0.0.1:{dead_port()}")

    with pytest.raises(StorageUnavailable, match="Connection refused"):
        store.save(PNG, "png")
    with pytest.raises(StorageUnavailable):
        store.ping()


def test_a_timed_out_call_closes_its_connections(fake: FakeFastDFS) -> None:
    """A slow server completes the append after the client gave up (as a real one does);
    save() deleted the reservation meanwhile, so the late append finds no file."""
    fake.slow_seconds = 0.8
    fake.fail("slow", STORAGE_APPEND)
    store = adapter(fake.url, timeout=0.2)

    with pytest.raises(StorageUnavailable):
        store.save(PNG, "png")
    time.sleep(1.0)

    assert fake.files == {}
    assert threading.active_count() < 10


# --- FastDFS as the real server behaves (docs/ARCHITECTURE.md) ----------------------------


@pytest.mark.parametrize("outage", ["storage_down", "tracker_restarted"])
def test_status_2_from_the_tracker_is_unavailable_not_missing(
    fake: FakeFastDFS, outage: str
) -> None:
    """A real tracker answers status 2 to every look-up while no storage server is ACTIVE:
    that is an outage (503, deletion kept queued), not a missing file."""
    store = adapter(fake.url)
    existing = store.save(PNG, "png")
    getattr(fake, outage)()

    for call in (
        lambda: store.save(PNG, "png"),
        lambda: store.read(existing),
        lambda: store.delete(existing),
        store.ping,
    ):
        with pytest.raises(StorageUnavailable, match="no active storage server"):
            call()

    fake.heal()
    assert set(fake.files) == {existing}
    store.delete(existing)
    assert fake.files == {}


def test_status_2_from_the_storage_server_means_the_file_is_gone(fake: FakeFastDFS) -> None:
    store = adapter(fake.url)
    file_id = store.save(PNG, "png")
    store.delete(file_id)

    store.delete(file_id)  # the storage server answered: known gone, not an error
    with pytest.raises(FileNotFoundError):
        store.read(file_id)
    assert fake.commands.count(STORAGE_DELETE) == 2


def test_a_hung_storage_server_fails_ping_and_upload_and_stores_nothing(
    fake: FakeFastDFS,
) -> None:
    """Frozen (SIGSTOP), it stays ACTIVE at the tracker: the active test finds it out
    before any bytes are sent, so when it wakes up there is nothing for it to store."""
    store = adapter(fake.url)
    fake.hang()

    for call in (store.ping, lambda: store.save(PNG, "png")):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match=r"did not finish|timed out|deadline"):
            call()
        assert time.monotonic() - started < WELL_WITHIN

    fake.thaw()
    time.sleep(0.1)
    assert fake.files == {}
    assert STORAGE_UPLOAD_APPENDER not in fake.commands
    store.ping()


def test_an_append_a_stalled_server_completes_late_lands_in_a_known_file(
    fake: FakeFastDFS,
) -> None:
    """The server stalls after the reservation: the caller has the file id, and the
    late append (carried out on waking) lands in that file, which the caller can delete."""
    store = adapter(fake.url)
    fake.fail("freeze", STORAGE_APPEND)
    file_id = store.reserve("png")

    with pytest.raises(StorageUnavailable):
        store.write(file_id, PNG)
    assert fake.files == {file_id: b""}

    fake.thaw()
    deadline = time.monotonic() + 2
    while fake.files[file_id] != PNG:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    store.delete(file_id)
    assert fake.files == {}


def test_a_deadline_cannot_be_stretched_by_a_trickling_server() -> None:
    """Bytes arriving just within each socket timeout still end at the call's deadline."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(64)
        conn.sendall(struct.pack("!QBB", 40, 100, 0))  # a 40-byte reply, one byte at a time
        while not stop.wait(0.05):
            try:
                conn.sendall(b"\0")
            except OSError:
                return
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    store = adapter(f"fastdfs://127.0.0.1:{port}", timeout=0.4)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            store.ping()
        assert 0.4 <= time.monotonic() - started < 0.4 + 0.5
    finally:
        stop.set()
        listener.close()


def test_a_call_stuck_outside_the_socket_guard_is_cut_at_the_deadline(fake: FakeFastDFS) -> None:
    """The backstop: a receive that bypasses the deadline socket (blocking, no timeout)
    is abandoned at the deadline, and closing the call's sockets ends the thread."""
    store = adapter(fake.url, timeout=0.3)
    fake.fail("slow", TRACKER_QUERY_STORE)
    ended = threading.Event()

    def blocked_read(call: Any) -> bytes:
        try:
            sock = call.connect([("127.0.0.1", fake.tracker.port)])
            sock.settimeout(None)
            socket.socket.sendall(sock, b"\0" * 8 + bytes([TRACKER_QUERY_STORE, 0]))
            return socket.socket.recv(sock, 10)  # blocks: the fake is slow
        finally:
            ended.set()

    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="did not finish within"):
        store._run("stuck", blocked_read)

    assert time.monotonic() - started < 0.3 + 0.5
    assert ended.wait(1.0)  # the worker thread woke up and ended


def test_threads_in_flight_are_bounded(fake: FakeFastDFS) -> None:
    """Workers that cannot end hold their slots; further calls fail after their deadline
    instead of starting more threads, and work again once the slots are free."""
    store = adapter(fake.url, timeout=0.2)
    impatient = adapter(fake.url, timeout=0.02)
    release = threading.Event()
    try:
        for _ in range(MAX_CALLS_IN_FLIGHT):
            with pytest.raises(StorageUnavailable):
                impatient._run("hold", lambda call: release.wait(5))
        threads_before = threading.active_count()

        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match="still running"):
            store.save(PNG, "png")

        assert 0.2 <= time.monotonic() - started < 0.2 + 0.5
        assert threading.active_count() == threads_before
    finally:
        release.set()
    deadline = time.monotonic() + 2
    while storage_module._calls_in_flight._value < MAX_CALLS_IN_FLIGHT:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert store.save(PNG, "png") in fake.files
