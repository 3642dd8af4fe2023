"""A small TCP proxy for fault injection: the app talks to it, it talks to the service.

    proxy = TcpProxy(("127.0.0.1", mariadb_port)).start()   # listens on proxy.port
    proxy.mode = "refuse"   # new connections are refused (the listener is closed)
    proxy.mode = "hold"     # a black hole: connections are accepted, nothing answers
    proxy.mode = "close"    # new connections are accepted and closed at once
    proxy.mode = "reset"    # forwards `reset_after` bytes from the service, then RST
    proxy.mode = "slow"     # holds each chunk from the service `delay` seconds
    proxy.mode = "forward"  # the service is back
    proxy.close()

Switching modes cuts the connections open at that moment (with a reset), as a
service restart or a network fault would; pools must notice and reconnect. Except
"hold": what a network partition or a stalled service looks like, so the connections
open at that moment stay open and go silent (nothing more is forwarded either way),
and new ones are accepted and never answered. Leaving "hold" cuts them all.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Any

MODES = ("forward", "refuse", "reset", "slow", "hold", "close")


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], *, reset_after: int = 0, delay: float = 3.0):
        self.upstream = upstream
        self.reset_after = reset_after
        self.delay = delay
        self._mode = "forward"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.port = 0
        self.connections = 0
        self._threads: list[threading.Thread] = []

    # --- control ----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        return self

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        assert mode in MODES, mode
        if mode != "hold":
            self._cut_all()
        self._mode = mode
        if mode == "refuse":
            self._close_listener()
        elif self._listener is None:
            self._listen()

    def close(self) -> None:
        """Stop listening, cut every connection and wait for the proxy's threads to end."""
        self._close_listener()
        self._cut_all()
        for thread in self._threads:
            thread.join(timeout=self.delay + 5)

    # --- plumbing -----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept, listener)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            if self._mode == "hold":  # accepted, never answered (its bytes stay unread)
                with self._lock:
                    self._sockets.add(client)
                continue
            if self._mode == "close":  # accepted, then an orderly close (FIN)
                with contextlib.suppress(OSError):
                    client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            mode = self._mode
            self._spawn(self._pump, client, server, None)
            self._spawn(self._pump, server, client, mode)

    def _pump(self, source: socket.socket, sink: socket.socket, mode: str | None) -> None:
        """Copy source -> sink; `mode` applies to the service's side (replies)."""
        sent = 0
        try:
            while chunk := source.recv(65536):
                if self._mode == "hold":
                    continue  # silent: what was sent is lost in the partition
                if mode == "slow":
                    time.sleep(self.delay)
                if mode == "reset" and sent + len(chunk) > self.reset_after:
                    sink.sendall(chunk[: max(self.reset_after - sent, 0)])
                    break
                sink.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        _reset(source)
        _reset(sink)


def _reset(sock: Any) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes a thread blocked in recv (close does not)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
