"""chalice local, as `make run` serves it, with two fixes measured on these machines.

- TCP_NODELAY on accepted sockets: with Nagle's algorithm and delayed ACKs a
  keep-alive client waits ~44 ms per request (23 req/s); without, ~2,000 req/s.
- A listen backlog of 128 instead of 5: bursts of new connections otherwise stall
  for ~1 s on SYN retransmits.

and three fixes of chalice's API Gateway imitation (ShopGateway, also used by the test
client, see tests/conftest.py; ShopRequestHandler):

- An unknown path is a 404 `{detail, code}` from the app, not API Gateway's 403
  "Missing Authentication Token", whose variant for requests with an Authorization
  header echoes the whole header, token included. (On AWS the gateway answers unknown
  paths itself; its responses are mapped in infra.)
- A HEAD answer has headers only: chalice local wrote the body, which the client reads
  as the start of the next keep-alive response.
- A method no handler exists for (TRACE, PROPFIND, ...) reaches the app, which answers
  405 `{detail, code}`, instead of http.server's 501 HTML page; http.server's other
  error pages (a malformed request line, too long headers) are JSON too.
"""

from __future__ import annotations

import http
import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from chalice import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LambdaEventConverter,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    MatchResult,
    RouteMatcher,
    ThreadedHTTPServer,
)

STAGE = "local"
# The resource path of a request no route matches: no route has it, so the app's
# ShopApp answers 404 (chalicelib/api/routing.py).
UNMATCHED_RESOURCE = "/{unmatched+}"


class _MatchAnything(RouteMatcher):
    def match_route(self, url: str) -> MatchResult:
        try:
            return super().match_route(url)
        except ValueError:
            query = parse_qs(urlparse(url).query, keep_blank_values=True)
            return MatchResult(UNMATCHED_RESOURCE, {}, query)


class ShopGateway(LocalGateway):
    """chalice's LocalGateway, but unknown paths go to the app (which answers 404)."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self.event_converter = LambdaEventConverter(
            _MatchAnything(list(app_object.routes)), app_object.api.binary_types
        )

        self._authorizer = _KnownRoutesAuthorizer(app_object)

    def _has_user_defined_options_method(self, lambda_event: Any) -> bool:
        # Every path has an OPTIONS route (middleware.register_preflight_routes), and
        # `routes[key]` on Chalice's defaultdict would add an unmatched path to it.
        return True


class _KnownRoutesAuthorizer(LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        # Its route look-up indexes the defaultdict of routes too.
        if lambda_event["requestContext"]["resourcePath"] not in self._app_object.routes:
            return lambda_event, lambda_context
        return super().authorize(raw_path, lambda_event, lambda_context)


class ShopRequestHandler(ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, **kwargs: Any) -> None:
        self.local_gateway = ShopGateway(kwargs["app_object"], kwargs["config"])
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 for any method without a do_<METHOD>: let the app say 405.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_http_response_with_body(self, code: int, headers: Any, body: Any) -> None:
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        length = len(body if isinstance(body, bytes) else body.encode("utf-8"))
        self.send_response(code)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)  # and no body: the client reads none after HEAD

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's HTML error page, which may quote the request line: our error shape.
        status = http.HTTPStatus(code)
        body = json.dumps(
            {"detail": status.phrase + ".", "code": status.phrase.lower().replace(" ", "_")}
        ).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.close_connection = True
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.end_headers()


def tune_local_server() -> None:
    ChaliceRequestHandler.disable_nagle_algorithm = True  # StreamRequestHandler sets TCP_NODELAY
    ThreadedHTTPServer.request_queue_size = 128
    ThreadedHTTPServer.daemon_threads = True


def build_server(project_dir: Path, host: str, port: int) -> LocalDevServer:
    tune_local_server()
    factory = CLIFactory(str(project_dir))
    config = factory.create_config_obj(chalice_stage_name=STAGE)
    os.environ.update(config.environment_variables)
    app = factory.load_chalice_app(config.environment_variables)
    return LocalDevServer(app, config, host, port, handler_cls=ShopRequestHandler)


# glibc's mallopt(M_ARENA_MAX, ...); the figures: bench/RESULTS.md, "memory".
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def bound_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (what MALLOC_ARENA_MAX does, set before
    any request thread allocates). Each argon2 hash takes 19 MiB; with a thread per
    request, glibc gives concurrent threads arenas of their own and keeps the freed
    memory in them: 80 concurrent logins left `make run` at ~400 MB RSS, ~150 MB with two
    arenas. False where there is no C library to ask (the server runs anyway). glibc
    answers 1 even to a parameter it does not know: bench/memory is what shows it works."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc and libc.mallopt(M_ARENA_MAX, arenas) == 1)
    except (OSError, AttributeError):
        return False


def serve(project_dir: Path, host: str, port: int) -> None:
    bound_malloc_arenas()
    server = build_server(project_dir, host, port)
    base = f"http://{host}:{port}"
    print(f"家电之选 shop API on {base}/  (stage {STAGE}; Ctrl-C stops it)")
    print(f"  health:     curl {base}/health/")
    print(f"  catalogue:  curl {base}/categories/")
    print(f"  admin:      POST {base}/meiduo_admin/authorizations/  (demo: admin / Admin12345)")
    print("              limited staff (运营: orders, users, dashboard): yunying / Yunying12345")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
        print("stopped")
