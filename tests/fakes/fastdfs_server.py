"""A FastDFS tracker and storage server speaking the wire protocol, for tests.

py3Fdfs talks to it over TCP on 127.0.0.1 exactly as to a real FastDFS: the tracker
and the storage server listen on two ports (bound to port 0), files live in memory
(`server.files`, so tests can check for orphans).

Protocol (FastDFS 3.x/5.x): every packet starts with a 10-byte header, `!QBB` = body
length, command, status; replies use command 100 and status 0 or an errno.

- tracker 101 query store: reply group[16] ip[15] port u64 store_path u8 (40 bytes)
- tracker 102 query fetch, 103 query update: body group[16] name; reply group[16]
  ip[15] port u64 (39 bytes)
- storage 11 upload: body store_path u8, size u64, ext[6], bytes; reply group[16] name
- storage 23 upload appender file: as 11 (the file can be appended to)
- storage 24 append: body name_len u64, size u64, name, bytes; header-only reply
- storage 12 delete: body group[16] name; header-only reply (status 2 if missing)
- storage 14 download: body offset u64, length u64, group[16] name; reply the bytes
  (status 22 for an empty file, as a real one answers)
- 111 active test, tracker and storage: header-only reply, status 0

Faults, switchable per test, as a real FastDFS 6.16 showed them (docs/ARCHITECTURE.md,
"Outside systems as measured"):
- `storage_down()`: the storage server stopped. Its port refuses, and the tracker,
  which notices at once, answers status 2 (ENOENT) to every upload, download and
  delete look-up while no storage server is ACTIVE;
- `tracker_restarted()`: the storage server runs, but the restarted tracker does not
  list it yet (until its next heartbeat): status 2 to every look-up, as above;
- `hang()`: the storage server is frozen (SIGSTOP). Connections are accepted but
  nothing is answered, and the tracker keeps listing it as ACTIVE. `thaw()` wakes it:
  it then carries out what it had received, although the clients gave up long ago
  (an upload is stored, a deletion done);
- `fail("freeze", *commands)`: the same for those commands only (a server that stalls
  in the middle of an upload, after answering what came before);
- `refuse("tracker" | "storage")`: the listener is closed, connections are refused
  (for the storage server: one the tracker lists but the app cannot reach);
- `fail(mode, *commands)` with mode `error_status` (a header with status EIO),
  `close_mid_reply` (half of the reply, then the connection is closed) or `slow`
  (the reply comes after `slow_seconds`); for the given commands, or all of them.
A command failing with error_status or close_mid_reply never takes effect; a slow one
takes effect when its reply is due, whether or not the client is still there.
`heal()` ends every fault.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import struct
import threading
from typing import Any

HEADER = struct.Struct("!QBB")
RESPONSE = 100
TRACKER_QUERY_STORE = 101
TRACKER_QUERY_FETCH = 102
TRACKER_QUERY_UPDATE = 103
STORAGE_UPLOAD = 11
STORAGE_DELETE = 12
STORAGE_DOWNLOAD = 14
STORAGE_UPLOAD_APPENDER = 23
STORAGE_APPEND = 24
ACTIVE_TEST = 111
QUIT = 82
GROUP_LEN = 16
IP_LEN = 15
ENOENT = 2
EINVAL = 22
EIO = 5
FAULT_MODES = frozenset({"error_status", "close_mid_reply", "slow", "freeze"})


def _pad(value: bytes, size: int) -> bytes:
    return value[:size].ljust(size, b"\0")


class _Listener:
    """A listening socket on 127.0.0.1 that serves each connection in a thread."""

    def __init__(self, serve: Any) -> None:
        self._serve = serve
        self.port = 0
        self._sock: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.listen()

    def listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._sock = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self._lock:
                self._connections.add(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._serve(conn)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()


class FakeFastDFS:
    def __init__(self, group: str = "group1", slow_seconds: float = 2.0) -> None:
        self.group = group.encode()
        self.slow_seconds = slow_seconds
        self.files: dict[str, bytes] = {}
        self.appenders: set[str] = set()  # files created by command 23
        self.commands: list[int] = []  # every command received, in order
        self.storage_active = True  # does the tracker list the storage server?
        # The storage port the tracker names (a proxy's, for fault injection); None: its own.
        self.advertised_storage_port: int | None = None
        self._faults: dict[int | None, str] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._awake = threading.Event()  # cleared while the storage server hangs
        self._awake.set()
        self._hung = False
        self.storage = _Listener(self._serve_storage)
        self.tracker = _Listener(self._serve_tracker)

    # --- test controls ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"fastdfs://127.0.0.1:{self.tracker.port}"

    def fail(self, mode: str, *commands: int) -> None:
        """Answer the given commands (all when none given) with this fault from now on."""
        assert mode in FAULT_MODES, mode
        assert mode != "freeze" or commands, "freeze what? (hang() freezes the storage server)"
        with self._lock:
            for command in commands or (None,):
                self._faults[command] = mode
            if mode == "freeze":
                self._awake.clear()

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()
            self.storage_active = True
        self.thaw()
        for listener in (self.tracker, self.storage):
            if listener._sock is None:
                listener.listen()

    def storage_down(self) -> None:
        """The storage server stopped: refused, and the tracker answers status 2."""
        self.storage_active = False
        self.refuse("storage")

    def tracker_restarted(self) -> None:
        """The tracker has not heard from the (running) storage server yet: status 2."""
        self.storage_active = False

    def hang(self) -> None:
        """Freeze the storage server: it accepts, reads nothing back, answers nothing."""
        with self._lock:
            self._hung = True
            self._awake.clear()

    def thaw(self) -> None:
        """Wake the storage server: it carries out the requests it received meanwhile."""
        with self._lock:
            self._hung = False
            for command in [c for c, mode in self._faults.items() if mode == "freeze"]:
                del self._faults[command]
            self._awake.set()

    def refuse(self, role: str) -> None:
        """Stop listening as the tracker or the storage server: connections are refused."""
        {"tracker": self.tracker, "storage": self.storage}[role].close()

    def stop(self) -> None:
        self._stopped.set()
        self._awake.set()
        self.tracker.close()
        self.storage.close()

    def __enter__(self) -> FakeFastDFS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving -----------------------------------------------------------------------

    def _fault(self, command: int) -> str | None:
        with self._lock:
            return self._faults.get(command) or self._faults.get(None)

    def _serve_tracker(self, conn: socket.socket) -> None:
        self._serve(conn, self._tracker_reply, storage=False)

    def _serve_storage(self, conn: socket.socket) -> None:
        self._serve(conn, self._storage_reply, storage=True)

    def _serve(self, conn: socket.socket, answer: Any, *, storage: bool) -> None:
        while True:
            header = _recv_exactly(conn, HEADER.size)
            if header is None:
                return
            length, command, _status = HEADER.unpack(header)
            body = _recv_exactly(conn, length) if length else b""
            if body is None or command == QUIT:
                return
            with self._lock:
                self.commands.append(command)
            fault = self._fault(command)
            if (storage and self._hung) or fault == "freeze":
                # Frozen: the request waits in the socket; once awake the server carries
                # it out and answers, though the client may have given up long ago.
                self._awake.wait()
                if self._stopped.is_set():
                    return
                status, reply, effect = answer(command, body)
                if effect is not None:
                    effect()
                with contextlib.suppress(OSError):
                    conn.sendall(HEADER.pack(len(reply), RESPONSE, status) + reply)
                continue
            if fault == "error_status":
                conn.sendall(HEADER.pack(0, RESPONSE, EIO))
                continue
            if fault == "slow" and self._stopped.wait(self.slow_seconds):
                return
            status, reply, effect = answer(command, body)
            packet = HEADER.pack(len(reply), RESPONSE, status) + reply
            if fault == "close_mid_reply":
                conn.sendall(packet[: max(1, len(packet) // 2)])
                return
            if effect is not None:
                effect()  # before the reply, as a real server: the client may read it next
            conn.sendall(packet)

    def _tracker_reply(self, command: int, body: bytes) -> tuple[int, bytes, Any]:
        where = _pad(self.group, GROUP_LEN) + _pad(b"127.0.0.1", IP_LEN)
        where += struct.pack("!Q", self.advertised_storage_port or self.storage.port)
        if command == ACTIVE_TEST:
            return 0, b"", None
        if not self.storage_active and command in (
            TRACKER_QUERY_STORE,
            TRACKER_QUERY_FETCH,
            TRACKER_QUERY_UPDATE,
        ):
            return ENOENT, b"", None  # a real tracker with no ACTIVE storage server
        if command == TRACKER_QUERY_STORE:
            return 0, where + b"\0", None
        if command in (TRACKER_QUERY_FETCH, TRACKER_QUERY_UPDATE):
            if body[:GROUP_LEN].rstrip(b"\0") != self.group:
                return ENOENT, b"", None
            return 0, where, None
        return EINVAL, b"", None

    def _storage_reply(self, command: int, body: bytes) -> tuple[int, bytes, Any]:
        if command == ACTIVE_TEST:
            return 0, b"", None
        if command == STORAGE_APPEND:
            name_len, size = struct.unpack("!QQ", body[:16])
            file_id = self._file_id(self.group, body[16 : 16 + name_len])
            data = body[16 + name_len :]
            if len(data) != size:
                return EINVAL, b"", None
            if file_id not in self.files:
                return ENOENT, b"", None
            if file_id not in self.appenders:
                return EINVAL, b"", None

            def append() -> None:
                if file_id in self.files:
                    self.files[file_id] += data

            return 0, b"", append
        if command in (STORAGE_UPLOAD, STORAGE_UPLOAD_APPENDER):
            _store_path, size = struct.unpack("!BQ", body[:9])
            ext = body[9:15].rstrip(b"\0").decode()
            data = body[15:]
            if len(data) != size:
                return EINVAL, b"", None
            name = f"M00/00/00/{secrets.token_hex(12)}" + (f".{ext}" if ext else "")
            file_id = f"{self.group.decode()}/{name}"
            store = self._storer(file_id, data, appender=command == STORAGE_UPLOAD_APPENDER)
            return 0, _pad(self.group, GROUP_LEN) + name.encode(), store
        if command == STORAGE_DELETE:
            file_id = self._file_id(body[:GROUP_LEN], body[GROUP_LEN:])
            if file_id not in self.files:
                return ENOENT, b"", None
            return 0, b"", lambda: (self.files.pop(file_id, None), self.appenders.discard(file_id))
        if command == STORAGE_DOWNLOAD:
            offset, length = struct.unpack("!QQ", body[:16])
            file_id = self._file_id(body[16 : 16 + GROUP_LEN], body[16 + GROUP_LEN :])
            data = self.files.get(file_id)
            if data is None:
                return ENOENT, b"", None
            if not data:
                return EINVAL, b"", None  # as FastDFS 6.16 answers for an empty file
            data = data[offset : offset + length] if length else data[offset:]
            return 0, data, None
        return EINVAL, b"", None

    def _storer(self, file_id: str, data: bytes, *, appender: bool) -> Any:
        def store() -> None:
            self.files[file_id] = data
            if appender:
                self.appenders.add(file_id)

        return store

    @staticmethod
    def _file_id(group: bytes, name: bytes) -> str:
        return group.rstrip(b"\0").decode() + "/" + name.decode()


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def dead_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
