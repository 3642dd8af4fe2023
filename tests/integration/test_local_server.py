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
from pathlib import Path

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


def test_run_serves_keep_alive_requests_and_stops_on_sigterm(tmp_path: Path) -> None:
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
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
