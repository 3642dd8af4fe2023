"""`manage.py run`: chalice's local server with the two measured fixes, stopping cleanly."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.local import ChaliceRequestHandler, ThreadedHTTPServer

from devtools.local_server import build_server
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_disables_nagle_and_listens_with_a_backlog_of_128(tmp_path: Path) -> None:
    server = build_server(ROOT, "127.0.0.1", free_port())
    try:
        assert ChaliceRequestHandler.disable_nagle_algorithm is True
        assert ThreadedHTTPServer.request_queue_size == 128
        assert server.server.request_queue_size == 128
    finally:
        server.server.server_close()


def start_server(tmp_path: Path, output: Any) -> tuple[int, subprocess.Popen[bytes]]:
    """`manage.py run` on a free port and its own migrated SQLite file, writing to `output`
    (a file, or a pipe read at the end: a pipe left unread blocks the server once full)."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "SHOP_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "STORAGE_URL": f"file://{tmp_path / 'media'}",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    return port, server


def test_run_serves_keep_alive_requests_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, server = start_server(tmp_path, subprocess.PIPE)
    try:
        connection = _connect(port)
        statuses = []
        for _ in range(20):  # one keep-alive connection, many requests
            connection.request("GET", "/health/")
            response = connection.getresponse()
            statuses.append((response.status, json.loads(response.read())["status"]))
        assert statuses == [(200, "ok")] * 20
        connection.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err.decode()
    assert f"http://127.0.0.1:{port}/" in out.decode()
    assert "stopped" in out.decode()


def _connect(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.connect()
            return connection
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`manage.py run` on a free port, on its own SQLite file; yields the port."""
    port, server = start_server(tmp_path_factory.mktemp("served"), subprocess.DEVNULL)
    try:
        _connect(port).close()
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_head_answers_carry_no_body_so_keep_alive_goes_on(served: int) -> None:
    connection = _connect(served)
    for path in ("/health/", "/no-such-path/", "/categories/"):
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.read() == b""
        connection.request("GET", "/health/")  # the same connection: readable?
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["status"]) == (200, "ok")
        assert head.status in (404, 405)
    connection.close()


def test_head_sends_no_body_bytes_on_the_wire(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"HEAD /health/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = _read_all(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405")
    assert rest == b""


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "PATCH", "BREW"])
def test_a_method_no_route_has_is_a_405_in_the_error_shape(served: int, method: str) -> None:
    connection = _connect(served)
    connection.request(method, "/health/")
    response = connection.getresponse()
    assert response.status == 405
    assert response.getheader("Content-Type", "").startswith("application/json")
    assert json.loads(response.read()) == {
        "detail": "This method is not allowed on this path.",
        "code": "method_not_allowed",
    }
    connection.request("GET", "/health/")  # and the connection is still usable
    assert connection.getresponse().status == 200
    connection.close()


def test_an_unknown_path_is_a_404_that_does_not_echo_the_token(served: int) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2ln"
    connection = _connect(served)
    for method in ("GET", "TRACE", "OPTIONS"):
        connection.request(method, "/nope/", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 404
        assert json.loads(body) == {"detail": "No such path.", "code": "not_found"}
        assert token.encode() not in body
    connection.close()


def test_a_malformed_request_gets_a_json_error_not_an_html_page(served: int) -> None:
    too_many_headers = b"".join(b"X-%d: 1\r\n" % i for i in range(120))
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: x\r\n" + too_many_headers + b"\r\n")
        data = _read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {
        "detail": "Request Header Fields Too Large.",
        "code": "request_header_fields_too_large",
    }
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"GET /health/ HTTP/9.9<script>\r\n\r\n")  # an HTTP/0.9-style answer
        assert json.loads(_read_all(sock)) == {"detail": "Bad Request.", "code": "bad_request"}


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
