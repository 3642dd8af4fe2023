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
- storage 12 delete: body group[16] name; header-only reply (status 2 if missing)
- storage 14 download: body offset u64, length u64, group[16] name; reply the bytes

Faults, switchable per test:
- `refuse("tracker" | "storage")`: the listener is closed, connections are refused;
- `fail(mode, *commands)` with mode `error_status` (a header with status EIO),
  `close_mid_reply` (half of the reply, then the connection is closed) or `slow`
  (the reply comes after `slow_seconds`); for the given commands, or all of them.
A command that fails never takes effect (nothing stored or deleted), and a slow one
takes effect only if the client is still there when the reply is due. (A real
server can fail after storing: that file is lost to the client; see the storage
adapter's doc.)
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
QUIT = 82
GROUP_LEN = 16
IP_LEN = 15
ENOENT = 2
EINVAL = 22
EIO = 5
FAULT_MODES = frozenset({"error_status", "close_mid_reply", "slow"})


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
        self.commands: list[int] = []  # every command received, in order
        self._faults: dict[int | None, str] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.storage = _Listener(self._serve_storage)
        self.tracker = _Listener(self._serve_tracker)

    # --- test controls ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"fastdfs://127.0.0.1:{self.tracker.port}"

    def fail(self, mode: str, *commands: int) -> None:
        """Answer the given commands (all when none given) with this fault from now on."""
        assert mode in FAULT_MODES, mode
        with self._lock:
            for command in commands or (None,):
                self._faults[command] = mode

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()
        for listener in (self.tracker, self.storage):
            if listener._sock is None:
                listener.listen()

    def refuse(self, role: str) -> None:
        """Stop listening as the tracker or the storage server: connections are refused."""
        {"tracker": self.tracker, "storage": self.storage}[role].close()

    def stop(self) -> None:
        self._stopped.set()
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
        self._serve(conn, self._tracker_reply)

    def _serve_storage(self, conn: socket.socket) -> None:
        self._serve(conn, self._storage_reply)

    def _serve(self, conn: socket.socket, answer: Any) -> None:
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
            if fault == "error_status":
                conn.sendall(HEADER.pack(0, RESPONSE, EIO))
                continue
            if fault == "slow" and (self._stopped.wait(self.slow_seconds) or _peer_gone(conn)):
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
        where += struct.pack("!Q", self.storage.port)
        if command == TRACKER_QUERY_STORE:
            return 0, where + b"\0", None
        if command in (TRACKER_QUERY_FETCH, TRACKER_QUERY_UPDATE):
            if body[:GROUP_LEN].rstrip(b"\0") != self.group:
                return ENOENT, b"", None
            return 0, where, None
        return EINVAL, b"", None

    def _storage_reply(self, command: int, body: bytes) -> tuple[int, bytes, Any]:
        if command == STORAGE_UPLOAD:
            _store_path, size = struct.unpack("!BQ", body[:9])
            ext = body[9:15].rstrip(b"\0").decode()
            data = body[15:]
            if len(data) != size:
                return EINVAL, b"", None
            name = f"M00/00/00/{secrets.token_hex(12)}" + (f".{ext}" if ext else "")
            file_id = f"{self.group.decode()}/{name}"
            return 0, _pad(self.group, GROUP_LEN) + name.encode(), self._storer(file_id, data)
        if command == STORAGE_DELETE:
            file_id = self._file_id(body[:GROUP_LEN], body[GROUP_LEN:])
            if file_id not in self.files:
                return ENOENT, b"", None
            return 0, b"", lambda: self.files.pop(file_id, None)
        if command == STORAGE_DOWNLOAD:
            offset, length = struct.unpack("!QQ", body[:16])
            file_id = self._file_id(body[16 : 16 + GROUP_LEN], body[16 + GROUP_LEN :])
            data = self.files.get(file_id)
            if data is None:
                return ENOENT, b"", None
            data = data[offset : offset + length] if length else data[offset:]
            return 0, data, None
        return EINVAL, b"", None

    def _storer(self, file_id: str, data: bytes) -> Any:
        def store() -> None:
            self.files[file_id] = data

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


def _peer_gone(conn: socket.socket) -> bool:
    """Has the client closed its end (it gave up waiting)? The request was read in full,
    so anything readable now is end-of-stream."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def dead_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
