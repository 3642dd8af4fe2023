"""The small layer between Chalice and our views.

- ShopApp keeps the current request per thread: Chalice stores it on the app object,
  which `chalice local`'s threads share, so two concurrent requests could read each
  other's headers and bodies.
- Every route declares who may call it (`@auth.public`, `@auth.login_required`,
  `@auth.staff_required`); ShopApp refuses one that does not, or a guarded one not
  registered through ApiBlueprint.
- ApiBlueprint wraps every view: it gives the request one database connection, shared
  by authentication and the view's units of work (resources.one_connection_per_request,
  checked out on first use), authenticates (the marks above), and turns what a
  view raises into API errors: a backing service that is down becomes a 503, anything
  unexpected a logged 500 whose body says nothing about internals.
- parse() reads a JSON body, parse_query() a query string, into a pydantic model,
  with DRF-style 400s. pydantic itself is imported with the first model a view uses
  (chalicelib/api/models/), not here.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, Chalice, ChaliceViewError
from chalice.app import Request, Response, RestAPIEventHandler

from chalicelib import auth, resources
from chalicelib.config import ConfigError
from chalicelib.errors import (
    NON_FIELD,
    ApiError,
    BadRequest,
    InternalError,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)
from chalicelib.integers import MAX_ID, ascii_int
from chalicelib.observability.entry import note_user

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic import ValidationError as PydanticValidationError

log = logging.getLogger("shop.api")

MAX_JSON_BODY_BYTES = 1_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every path registered through ApiBlueprint, with its methods: preflight routes are
# generated from it (see cors.register_preflight_routes).
registered_paths: dict[str, set[str]] = {}


class ShopApp(Chalice):
    _local = threading.local()
    # Called once, when the first invocation ends (app.py: garbage collection, on Lambda).
    after_first_call: Callable[[], object] | None = None

    @property
    def current_request(self) -> Request | None:
        return getattr(self._local, "request", None)

    @current_request.setter
    def current_request(self, value: Request | None) -> None:
        self._local.request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._local, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._local.lambda_context = value

    def _register_route(
        self, name: str, user_handler: Callable[..., Any], kwargs: Any, **unused: Any
    ) -> None:
        """Every route declares who may call it, and only ApiBlueprint may serve a guarded
        view: through a plain Blueprint or app.route nothing would authenticate the caller
        (the view itself would then refuse everyone with a 401, see auth._requiring)."""
        access = auth.access_of(user_handler)
        path = kwargs.get("path", "?")
        if access is None:
            raise TypeError(f"route {path} ({name}): mark it @auth.{_ACCESS_MARKS}")
        if access != auth.PUBLIC and getattr(user_handler, "authenticated_by", None) is None:
            raise TypeError(
                f"route {path} ({name}) needs a token: register it through an ApiBlueprint, "
                "which authenticates the caller"
            )
        super()._register_route(name, user_handler, kwargs, **unused)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        # Chalice.__call__ with our handler (below); keep in step with chalice 1.34.
        try:
            self.lambda_context = context
            handler = _RestHandler(
                self.routes, self.api, self.log, self.debug,
                middleware_handlers=self._get_middleware_handlers("http"),
            )  # fmt: skip
            self.current_request = handler.create_request_object(event, context)
            return handler(event, context)
        finally:
            if self.after_first_call is not None:
                hook, self.after_first_call = self.after_first_call, None
                hook()


class _RestHandler(RestAPIEventHandler):
    def _main_rest_api_handler(self, event: Any, context: Any) -> Response:
        # An event for a path no route has (API Gateway never sends one; our local
        # gateway does, see devtools/local_server.py): Chalice would index its
        # defaultdict of routes, adding the path, and answer 405. It is a 404, which
        # repeats nothing the client sent.
        resource_path = event.get("requestContext", {}).get("resourcePath")
        if resource_path is not None and resource_path not in self.routes:
            raise NotFound("No such path.")
        return super()._main_rest_api_handler(event, context)


View = TypeVar("View", bound=Callable[..., Any])


class ApiBlueprint(Blueprint):
    """A Blueprint whose views are guarded (see module doc).

    Paths are written as the API contract has them, ending with "/". API Gateway (and
    chalice local, which mimics it) strips the trailing slash of a request path before
    matching and refuses routes that end with one, so the slash is dropped here.
    url_prefix is applied here too, not by register_blueprint.
    """

    def __init__(self, import_name: str, url_prefix: str = "") -> None:
        super().__init__(import_name)
        self.url_prefix = url_prefix

    def route(self, path: str, **kwargs: Any) -> Callable[[View], View]:
        path = (self.url_prefix + path).rstrip("/") or "/"
        methods = kwargs.get("methods", ["GET"])
        register = super().route(path, **kwargs)

        def decorator(view: View) -> View:
            if auth.access_of(view) is None:
                raise TypeError(f"{view.__name__}: mark it @auth.{_ACCESS_MARKS} under the route")
            registered_paths.setdefault(path, set()).update(methods)
            register(self._guarded(view))
            return view

        return decorator

    def _guarded(self, view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(**path_args: Any) -> Any:
            request = self.current_request
            try:
                with resources.one_connection_per_request():
                    user = auth.check_access(view, request.headers.get("authorization"))
                    if user is not None:
                        note_user(user.id)
                        return view(user, **path_args)
                    return view(**path_args)
            except ApiError:
                raise
            except Exception as exc:
                raise translate_exception(exc, request) from exc

        guarded.access = auth.access_of(view)  # type: ignore[attr-defined]
        guarded.permission = auth.permission_of(view)  # type: ignore[attr-defined]
        guarded.authenticated_by = ApiBlueprint  # type: ignore[attr-defined]
        return guarded


_ACCESS_MARKS = "public, @auth.login_required or @auth.staff_required"


def translate_exception(exc: Exception, request: Request | None) -> ApiError:
    if isinstance(exc, ChaliceViewError):
        return BadRequest(str(exc)) if exc.STATUS_CODE == 400 else _internal(exc, request)
    if resources.is_unavailable(exc):
        log.warning("backing service unavailable: %s: %s", type(exc).__name__, exc)
        return ServiceUnavailable(headers={"Retry-After": resources.retry_after(exc)})
    return _internal(exc, request)


def _internal(exc: Exception, request: Request | None) -> ApiError:
    path = getattr(request, "path", "?")
    method = getattr(request, "method", "?")
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    if isinstance(exc, ConfigError):
        return InternalError("The service is misconfigured.", code="misconfigured")
    return InternalError()


# --- request parsing ------------------------------------------------------------------

Model = TypeVar("Model", bound="BaseModel")


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = request.raw_body or b""
    if len(raw) > MAX_JSON_BODY_BYTES:
        from chalicelib.errors import PayloadTooLarge

        raise PayloadTooLarge()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeError, RecursionError):
        raise ValidationError("The request body is not valid UTF-8 JSON.") from None
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    where = _lone_surrogate(body)
    if where is not None:
        # "\\ud800" escapes decode to lone surrogates, which no UTF-8 column (nor a password
        # hash) can take: refused here, naming the field as a validation error would.
        message = "Unpaired UTF-16 surrogates (\\ud800-\\udfff) are not text."
        raise ValidationError({where or NON_FIELD: [message]})
    return body


def _lone_surrogate(body: Any) -> str | None:
    """The dotted place ("comments.0.content") of the first lone surrogate in a string
    (of the object, for one in a key; "" at the top), or None. Iterative: JSON as deep
    as json.loads takes must not recurse."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        place, node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return place
        elif isinstance(node, dict | list):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in reversed(list(items)):
                here = f"{place}.{key}" if place else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    return place  # the object holding the key: the key cannot be shown
                stack.append((here, value))
    return None


def parse(model: type[Model], request: Request) -> Model:
    return validate(model, json_object(request))


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    from pydantic import ValidationError as PydanticValidationError  # loaded with the model

    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(field_errors(exc)) from None


def field_errors(exc: PydanticValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
        message = error["msg"]
        if error["type"] == "missing":
            message = "This field is required."
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        errors.setdefault(field, []).append(message)
    return errors


def query(request: Request) -> dict[str, str]:
    """The query string as name -> value; a name given more than once is a 400 naming it
    (`?page=1&page=2`: which one was meant is not ours to guess)."""
    params = request.query_params
    if not params:
        return {}
    repeated = {
        name: ["Give this parameter once."] for name in params if len(params.getlist(name)) > 1
    }
    if repeated:
        raise ValidationError(repeated)
    return dict(params)


def parse_query(model: type[Model], request: Request) -> Model:
    """The query string read into a model (an empty value, `?page=`, counts as absent)."""
    return validate(model, {k: v for k, v in query(request).items() if v != ""})


def path_id(raw: str, *, what: str = "Not found.") -> int:
    """An id in the path (ASCII digits, 1..MAX_ID); anything else is simply not found."""
    try:
        return ascii_int(raw, 1, MAX_ID)
    except ValueError:
        raise NotFound(what) from None
