"""A stand-in for the X-Ray daemon: a UDP socket on 127.0.0.1 that keeps what it is sent.

The SDK sends each document as `{"format":"json","version":1}\n<segment JSON>` to
AWS_XRAY_DAEMON_ADDRESS. A thread reads them as they come, so a long run (hundreds of
subsegments) cannot overflow the socket's buffer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

HEADER = '{"format":"json","version":1}'


class XrayDaemon:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._documents: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                datagram = self.sock.recv(65536).decode()
            except TimeoutError:
                continue
            except OSError:
                return
            header, _, body = datagram.partition("\n")
            document = json.loads(body) if header == HEADER else {"bad_header": header}
            with self._lock:
                self._documents.append(document)

    def received(self, settle_seconds: float = 0.3) -> list[dict[str, Any]]:
        """Every document received so far (segments and streamed subsegments)."""
        time.sleep(settle_seconds)  # UDP on loopback: what was sent is here by then
        with self._lock:
            return list(self._documents)

    def clear(self) -> None:
        time.sleep(0.3)
        with self._lock:
            self._documents.clear()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self.sock.close()


def flatten(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every entity in the documents, nested subsegments included."""
    entities = []
    stack = list(documents)
    while stack:
        entity = stack.pop()
        entities.append(entity)
        stack.extend(entity.get("subsegments", []))
    return entities


def descendants(entity: dict[str, Any], everything: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entity's subsegments at any depth (streamed ones name their parent by id)."""
    found: list[dict[str, Any]] = []
    parents = {entity["id"]}
    changed = True
    while changed:
        changed = False
        for candidate in everything:
            if candidate.get("parent_id") in parents and candidate["id"] not in parents:
                parents.add(candidate["id"])
                found.append(candidate)
                changed = True
    return found
