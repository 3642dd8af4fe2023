"""HTTP middleware: error bodies, UTF-8 JSON, and CORS for a whitelist of origins.

Chalice's CORSConfig allows one origin only and API Gateway's generated preflights
answer with a fixed one, so we answer preflights ourselves: every path gets an
OPTIONS route (on API Gateway too, where a missing method would be a 403), and the
middleware adds the CORS headers only for origins in CORS_ALLOWED_ORIGINS.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib import auth, config
from chalicelib.api.routing import registered_paths
from chalicelib.errors import CHALICE_CODES, ApiError

log = logging.getLogger("shop.api")

ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Requested-With"
EXPOSED_HEADERS = "Retry-After, Location"
PREFLIGHT_MAX_AGE = "600"


def api_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    try:
        response = get_response(request)
    except ApiError as exc:
        response = Response(body=exc.body(), status_code=exc.status_code, headers=dict(exc.headers))
    _normalise_chalice_error(response)
    _encode_json(response)
    if request is not None:
        _add_cors_headers(request, response)
    return response


def _normalise_chalice_error(response: Response) -> None:
    """Chalice's own errors ({"Code", "Message"}: 405, 415, 500) in our error shape."""
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = CHALICE_CODES.get(str(body["Code"]), "error")
        if response.status_code >= 500:
            detail = "An internal error occurred."
        elif response.status_code == 405:  # Chalice's message quotes the request's method
            detail = "This method is not allowed on this path."
        else:
            detail = str(body["Message"])
        response.body = {"detail": detail, "code": code}


def _encode_json(response: Response) -> None:
    # Chalice would escape every Chinese character as \uXXXX; send readable UTF-8.
    if isinstance(response.body, dict | list):
        response.body = json.dumps(response.body, ensure_ascii=False, separators=(",", ":"))
        response.headers.setdefault("Content-Type", "application/json; charset=utf-8")


def _add_cors_headers(request: Request, response: Response) -> None:
    origin = (request.headers.get("origin") or "").rstrip("/")
    if not origin or origin not in config.settings().cors_allowed_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    response.headers["Vary"] = "Origin"
    if request.method == "OPTIONS":
        path = request.context.get("resourcePath", "")
        methods = sorted(registered_paths.get(path, set()) | {"OPTIONS"})
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE


def register_preflight_routes(app: Chalice) -> None:
    """An OPTIONS route for every path; the middleware decides which origins get headers."""
    for path in sorted(app.routes):
        if "OPTIONS" in app.routes[path]:
            continue
        app.route(path, methods=["OPTIONS"], name=_preflight_name(path))(_preflight)


@auth.public
def _preflight(**_path_args: Any) -> Response:
    return Response(body="", status_code=204)


def _preflight_name(path: str) -> str:
    slug = "".join(ch if ch.isalnum() else "_" for ch in path).strip("_")
    return f"preflight_{slug or 'root'}"
