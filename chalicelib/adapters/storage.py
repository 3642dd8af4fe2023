"""Image storage: one small interface, the real FastDFS store and its local-folder twin.

A file id is a string such as `group1/M00/00/00/abc.jpg` (FastDFS) or `ab/<uuid>.jpg`
(folder). Public URLs are MEDIA_URL + file id.

FastDFS through py3Fdfs, and how every call is bounded
------------------------------------------------------
STORAGE_URL is `fastdfs://host:port[,host:port][?timeout=seconds]` (timeout default 5 s:
one call's whole budget, connects included). py3Fdfs 2.2 speaks the protocol correctly
on the happy path but fails badly around it, so we use its protocol code
(`Tracker_client`, `Storage_client`) and hand it connections we own:

- When a server closes the connection in the middle of a reply, its receive loop sees
  `recv() == b""` forever and spins (the socket timeout never fires: nothing blocks).
  On Lambda that is a hung invocation burning its CPU until the function timeout.
- Its pool puts a connection back even after a failed or timed-out exchange, so the
  next request would read the previous request's late reply; and it retries a refused
  connect ten times, then calls `sys.exit()` (SystemExit, not an error).
- Downloads with an offset and the metadata calls fail (UnboundLocalError, struct.error):
  we never use them. File ids are bytes in py3Fdfs and str here.

So each call (reserve, write, delete, read, ping) works like this:

1. Its own connections. A `_Call` opens every socket the call uses (tracker and
   storage), fresh, and closes each one when py3Fdfs releases it; nothing is pooled
   across calls, so no connection outlives the call that opened it and no late reply
   can be read by another call. Trackers are tried in a random order: one that
   refuses or does not answer in its share of the time left fails over to the next.
2. A deadline at the socket. The sockets are `_DeadlineSocket`s: before every send and
   receive the socket timeout is set to the time left of the call's one deadline (a
   server trickling bytes cannot stretch it), and end-of-stream during a reply raises
   ConnectionResetError instead of returning b"". So slow replies time out, mid-reply
   closes fail at once, and py3Fdfs' loops end by themselves.
3. A hard deadline around the whole call. It runs in a daemon worker thread which the
   caller waits for until the deadline (+ a small grace). If the thread is still
   running then, the caller shuts down and closes all the call's sockets (every later
   send/receive in the thread fails at once, a blocked one wakes up) and raises
   StorageUnavailable; it does not wait for the thread.
4. Bounded threads. At most MAX_CALLS_IN_FLIGHT worker threads exist per process: a
   thread takes a slot before it starts and gives it back only when it has really
   ended. If slots were ever held by threads that cannot end, later calls fail with
   StorageUnavailable after their deadline instead of piling up more threads.
   (Lambda runs one request at a time per container, so one slot is normally in use.)

Every failure (refused connection, error status, timeout, mid-reply close, a py3Fdfs
crash) becomes StorageUnavailable, which the API answers with 503.

What status 2 (ENOENT) means depends on who answered it (`_ask_tracker`):
- from a tracker look-up (where to upload, download or delete) it means "no storage
  server of the group is ACTIVE": a real tracker answers so while its storage server is
  stopped and for a heartbeat (~20-30 s) after the tracker restarts, or for an unknown
  group. That is StorageUnavailable, never "missing" (a deletion stays queued);
- from the storage server itself it means the file is not there: FileNotFoundError for
  `read`, success for `delete` (the file is known to be gone).

Uploads in two steps, so that a file id is known before any content is sent
(`reserve` + `write`, `save` does both):
1. `reserve`: ask the tracker for a storage server, check that it answers (ACTIVE_TEST:
   a hung storage server, which the tracker keeps listing as ACTIVE for its check
   interval, fails here before anything is sent), then create an empty appender file
   there; its id is the file id.
2. `write`: append the bytes to that file.
A storage server that stalls in step 2 and wakes up after the deadline still appends
the bytes (measured on a real FastDFS: it processes what its socket had received), but
the caller knows the id and deletes it (services.images discards it after the rollback,
or queues its deletion). What a stall in step 1 can leave is an empty file.

`ping` (health) asks a tracker where an upload would go and sends ACTIVE_TEST to that
storage server, within the same deadline: what an upload needs, nothing stored.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs

from chalicelib.config import ConfigError


class StorageUnavailable(RuntimeError):
    """The store could not be reached or did not answer in time (503 to clients)."""


class Storage(Protocol):
    def save(self, data: bytes, ext: str) -> str:
        """Store the bytes; return the new file id."""

    def reserve(self, ext: str) -> str:
        """Create an empty file and return its id: delete it if it is not written or used."""

    def write(self, file_id: str, data: bytes) -> None:
        """Store the bytes in a file `reserve` created."""

    def delete(self, file_id: str) -> None:
        """Remove the file; a file that is already gone is not an error."""

    def read(self, file_id: str) -> bytes:
        """The file's bytes (FileNotFoundError when there is none)."""

    def url(self, file_id: str) -> str:
        """The public, absolute URL of the file."""

    def ping(self) -> None:
        """Raise StorageUnavailable when the store cannot be used."""


class FolderStorage:
    """Files in a local folder, served at /media/ by the local stage."""

    def __init__(self, root: Path, media_url: str) -> None:
        self.root = root
        self.media_url = media_url

    def save(self, data: bytes, ext: str) -> str:
        file_id = self.reserve(ext)
        self.write(file_id, data)
        return file_id

    def reserve(self, ext: str) -> str:
        name = uuid.uuid4().hex
        file_id = f"{name[:2]}/{name}.{_clean_ext(ext)}"
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)
        return file_id

    def write(self, file_id: str, data: bytes) -> None:
        path = self._path(file_id)
        if not path.exists():
            raise StorageUnavailable(f"reserved file {file_id} is gone")
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def delete(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(file_id).unlink()

    def read(self, file_id: str) -> bytes:
        return self._path(file_id).read_bytes()

    def url(self, file_id: str) -> str:
        return self.media_url + file_id

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"media folder {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"media folder {self.root} is not writable")

    def _path(self, file_id: str) -> Path:
        path = (self.root / file_id).resolve()
        if self.root.resolve() not in path.parents:
            raise FileNotFoundError(file_id)  # "../" and absolute ids never leave the folder
        return path


def _clean_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    if not ext.isalnum() or len(ext) > 6:
        raise ValueError(f"bad file extension {ext!r}")
    return ext


# --- FastDFS ------------------------------------------------------------------------

DEFAULT_FASTDFS_TIMEOUT_SECONDS = 5.0
MAX_FASTDFS_TIMEOUT_SECONDS = 25.0  # API Gateway gives up after 29 s
MAX_CALLS_IN_FLIGHT = 8
JOIN_GRACE_SECONDS = 0.05
ENOENT = 2
ACTIVE_TEST = 111  # FDFS_PROTO_CMD_ACTIVE_TEST: trackers and storage servers answer it
RESPONSE = 100
_HEADER = struct.Struct("!QBB")  # body length, command, status

_calls_in_flight = threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT)
_STATUS_RE = re.compile(r"Error: (\d+)")

Result = TypeVar("Result")


@dataclass(frozen=True)
class FastdfsSettings:
    trackers: tuple[tuple[str, int], ...]
    timeout: float


def parse_fastdfs_url(url: str) -> FastdfsSettings:
    """`fastdfs://host:port[,host:port][?timeout=seconds]` -> trackers and the call deadline."""
    rest = url.removeprefix("fastdfs://")
    location, _, query = rest.partition("?")
    location = location.rstrip("/")
    trackers: list[tuple[str, int]] = []
    for item in location.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
            raise ConfigError(f"STORAGE_URL: {item!r} is not host:port (in {url!r})")
        trackers.append((host.strip("[]"), int(port)))
    timeout = DEFAULT_FASTDFS_TIMEOUT_SECONDS
    options = parse_qs(query, keep_blank_values=True)
    unknown = set(options) - {"timeout"}
    if unknown:
        raise ConfigError(f"STORAGE_URL: unknown option(s) {sorted(unknown)} in {url!r}")
    if "timeout" in options:
        try:
            timeout = float(options["timeout"][-1])
        except ValueError:
            raise ConfigError(
                f"STORAGE_URL: timeout must be a number of seconds: {url!r}"
            ) from None
        if not 0 < timeout <= MAX_FASTDFS_TIMEOUT_SECONDS:
            raise ConfigError(
                f"STORAGE_URL: timeout must be above 0 and at most "
                f"{MAX_FASTDFS_TIMEOUT_SECONDS:g} seconds: {url!r}"
            )
    return FastdfsSettings(tuple(trackers), timeout)


class _Call:
    """One FastDFS operation: its deadline and every socket it opened."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    def remaining(self) -> float:
        """Seconds left; TimeoutError once the deadline has passed or the call was closed."""
        left = self.deadline - time.monotonic()
        if self._closed or left <= 0:
            raise TimeoutError(f"FastDFS call deadline of {self.timeout:g}s passed")
        return left

    def connect(self, addresses: Sequence[tuple[str, int]]) -> _DeadlineSocket:
        """A connection to the first address that accepts; each gets its share of the time left."""
        failures = []
        for index, (host, port) in enumerate(addresses):
            share = self.remaining() / (len(addresses) - index)
            try:
                raw = socket.create_connection((host, port), timeout=share)
            except OSError as exc:
                failures.append(f"{host}:{port}: {exc}")
                continue
            sock = _DeadlineSocket(self, raw)
            with self._lock:
                if not self._closed:
                    self._sockets.append(sock)
                    return sock
            sock.close()
            raise TimeoutError(f"FastDFS call deadline of {self.timeout:g}s passed")
        raise ConnectionRefusedError("; ".join(failures) or "no FastDFS address")

    def close(self) -> None:
        """Shut down and close every socket of the call: a receive blocked in another thread
        wakes up, and every later send or receive fails at once."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class _DeadlineSocket(socket.socket):
    """A socket that keeps its call's deadline and treats end-of-stream as an error.

    FastDFS clients only receive when a reply is due, so b"" always means the server
    went away mid-reply (py3Fdfs would loop on it forever)."""

    def __init__(self, call: _Call, raw: socket.socket) -> None:
        super().__init__(fileno=raw.detach())
        self._call = call

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.settimeout(self._call.remaining())
        data = super().recv(bufsize, flags)
        if not data and bufsize > 0:
            raise ConnectionResetError("FastDFS closed the connection in the middle of a reply")
        return data

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.settimeout(self._call.remaining())
        super().sendall(data, flags)


class _Connection:
    """What py3Fdfs uses of a connection: its `_sock`."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock


class _CallPool:
    """Stands in for py3Fdfs' ConnectionPool: a fresh connection for each request of the
    call, closed as soon as py3Fdfs releases it (it releases even after a failure)."""

    def __init__(self, call: _Call, addresses: Sequence[tuple[str, int]]) -> None:
        self._call = call
        self._addresses = list(addresses)

    def get_connection(self) -> _Connection:
        return _Connection(self._call.connect(self._addresses))

    def release(self, conn: _Connection) -> None:
        conn._sock.close()

    remove = release

    def destroy(self) -> None:
        """Storage_client calls this when collected; the call has closed everything already."""


class FastdfsStorage:
    """Files on FastDFS (trackers + storage groups); served by its nginx at MEDIA_URL."""

    def __init__(self, config: FastdfsSettings, media_url: str) -> None:
        self.trackers = config.trackers
        self.timeout = config.timeout
        self.media_url = media_url

    def save(self, data: bytes, ext: str) -> str:
        """Reserve and write in one go (for callers without a unit of work, e.g. the demo
        seed); a reservation whose write failed is deleted if storage lets us right now."""
        file_id = self.reserve(ext)
        try:
            self.write(file_id, data)
        except StorageUnavailable:
            with contextlib.suppress(StorageUnavailable):
                self.delete(file_id)
            raise
        return file_id

    def reserve(self, ext: str) -> str:
        ext = _clean_ext(ext)

        def create(call: _Call) -> str:
            tracker = self._tracker(call)
            server = _ask_tracker(tracker.tracker_query_storage_stor_without_group)
            _active_test(call, server)
            reply = self._storage(call, server).storage_upload_appender_by_buffer(
                tracker, server, b"", file_ext_name=ext
            )
            return str(reply["Remote file_id"].decode("ascii"))

        return self._run("reserve", create)

    def write(self, file_id: str, data: bytes) -> None:
        group, name = _split_file_id(file_id)

        def append(call: _Call) -> None:
            tracker = self._tracker(call)
            server = _ask_tracker(lambda: tracker.tracker_query_storage_update(group, name))
            self._storage(call, server).storage_append_by_buffer(tracker, server, data, name)

        try:
            self._run("append", append)
        except FileNotFoundError:
            raise StorageUnavailable(f"FastDFS append: reserved file {file_id} is gone") from None

    def delete(self, file_id: str) -> None:
        try:
            group, name = _split_file_id(file_id)
        except FileNotFoundError:
            return

        def remove(call: _Call) -> None:
            tracker = self._tracker(call)
            server = _ask_tracker(lambda: tracker.tracker_query_storage_update(group, name))
            self._storage(call, server).storage_delete_file(tracker, server, name)

        # FileNotFoundError only comes from the storage server: the file is known gone.
        with contextlib.suppress(FileNotFoundError):
            self._run("delete", remove)

    def read(self, file_id: str) -> bytes:
        group, name = _split_file_id(file_id)

        def download(call: _Call) -> bytes:
            tracker = self._tracker(call)
            server = _ask_tracker(lambda: tracker.tracker_query_storage_fetch(group, name))
            # Offset and length 0: the whole file (py3Fdfs fails on any other offset).
            reply = self._storage(call, server).storage_download_to_buffer(
                tracker, server, None, 0, 0, name
            )
            return bytes(reply["Content"])

        return self._run("download", download)

    def url(self, file_id: str) -> str:
        return self.media_url + file_id

    def ping(self) -> None:
        """Ask a tracker where an upload would go and check that storage server answers
        (ACTIVE_TEST), within one deadline: nothing stored."""

        def check(call: _Call) -> None:
            tracker = self._tracker(call)
            _active_test(call, _ask_tracker(tracker.tracker_query_storage_stor_without_group))

        self._run("ping", check)

    def _tracker(self, call: _Call) -> Any:
        from fdfs_client.tracker_client import Tracker_client

        order = list(self.trackers)
        random.shuffle(order)
        return Tracker_client(_CallPool(call, order))

    def _storage(self, call: _Call, server: Any) -> Any:
        from fdfs_client.storage_client import Storage_client

        store = Storage_client(server.ip_addr, server.port, self.timeout)
        store.pool = _CallPool(call, [(server.ip_addr.decode("ascii"), int(server.port))])
        return store

    def _run(self, operation: str, work: Callable[[_Call], Result]) -> Result:
        """Run one call in a bounded worker thread under a hard deadline (module doc)."""
        call = _Call(self.timeout)
        if not _calls_in_flight.acquire(timeout=self.timeout):
            raise StorageUnavailable(
                f"FastDFS {operation}: {MAX_CALLS_IN_FLIGHT} earlier calls are still running"
            )
        outcome: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                outcome.append((True, work(call)))
            except BaseException as exc:  # py3Fdfs may even raise SystemExit
                outcome.append((False, exc))
            finally:
                call.close()
                _calls_in_flight.release()

        worker = threading.Thread(target=run, name=f"fastdfs-{operation}", daemon=True)
        worker.start()
        worker.join(max(call.deadline - time.monotonic(), 0.0) + JOIN_GRACE_SECONDS)
        if not outcome:
            call.close()
            raise StorageUnavailable(f"FastDFS {operation} did not finish within {self.timeout:g}s")
        succeeded, value = outcome[0]
        if succeeded:
            return value
        if isinstance(value, StorageUnavailable):
            raise value
        if _fastdfs_status(value) == ENOENT:  # a tracker's status 2 never gets here
            raise FileNotFoundError(operation)
        raise StorageUnavailable(f"FastDFS {operation}: {type(value).__name__}: {value}") from value


# --- what a FastDFS answer means ---------------------------------------------------------


def _ask_tracker(query: Callable[[], Result]) -> Result:
    """A tracker look-up. Its status 2 means no storage server of the group is ACTIVE (or
    the group is unknown), never that a file is missing: StorageUnavailable."""
    try:
        return query()
    except Exception as exc:
        if _fastdfs_status(exc) == ENOENT:
            raise StorageUnavailable(
                "FastDFS tracker: no active storage server for this request (status 2)"
            ) from exc
        raise


def _active_test(call: _Call, server: Any) -> None:
    """ACTIVE_TEST on the storage server the tracker named: a header-only request and
    reply. A hung server (still ACTIVE at the tracker) does not answer before the deadline."""
    sock = call.connect([(server.ip_addr.decode("ascii"), int(server.port))])
    try:
        sock.sendall(_HEADER.pack(0, ACTIVE_TEST, 0))
        header = b""
        while len(header) < _HEADER.size:
            header += sock.recv(_HEADER.size - len(header))
    finally:
        sock.close()
    length, command, status = _HEADER.unpack(header)
    if command != RESPONSE or status != 0 or length != 0:
        raise StorageUnavailable(
            f"FastDFS storage {server.ip_addr.decode('ascii')}:{server.port} failed its "
            f"active test (command {command}, status {status})"
        )


def _split_file_id(file_id: str) -> tuple[bytes, bytes]:
    """`group1/M00/00/00/x.jpg` -> (b"group1", b"M00/00/00/x.jpg"), as py3Fdfs wants them."""
    group, sep, name = file_id.partition("/")
    if not sep or not group or not name or not file_id.isascii():
        raise FileNotFoundError(file_id)
    return group.encode(), name.encode()


def _fastdfs_status(exc: BaseException) -> int | None:
    """The status byte of a FastDFS error reply, which py3Fdfs only keeps in its message."""
    if type(exc).__name__ != "DataError":
        return None
    found = _STATUS_RE.search(str(exc))
    return int(found.group(1)) if found else None


def storage_from_url(storage_url: str, media_url: str) -> Storage:
    if storage_url.startswith("file://"):
        return FolderStorage(Path(storage_url.removeprefix("file://")), media_url)
    if storage_url.startswith("fastdfs://"):
        return FastdfsStorage(parse_fastdfs_url(storage_url), media_url)
    raise ConfigError(
        f"STORAGE_URL must be file://<folder> or fastdfs://host:port, got {storage_url!r}"
    )
