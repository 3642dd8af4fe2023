"""API errors: a status code and a body the clients understand.

400 bodies are DRF-style field dicts (`{"field": ["message"]}`); every other error is
`{"detail": "...", "code": "machine_code"}` plus optional extra keys (e.g. the
available stock of each SKU in an out_of_stock conflict).

The errors derive from ChaliceUnhandledError so that Chalice re-raises them to our
middleware instead of turning them into its own `{"Code", "Message"}` bodies.
"""

from __future__ import annotations

from typing import Any

from chalice import ChaliceUnhandledError

NON_FIELD = "non_field_errors"


class ApiError(ChaliceUnhandledError):
    status_code = 500
    code = "error"
    detail = "Error."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.detail
        self.code = code or self.code
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class ValidationError(ApiError):
    """400 with field errors: `{"username": ["..."], "non_field_errors": ["..."]}`."""

    status_code = 400
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]] | str, field: str = NON_FIELD) -> None:
        self.errors = {field: [errors]} if isinstance(errors, str) else errors
        first = next(iter(self.errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")

    def body(self) -> dict[str, Any]:
        return dict(self.errors)


class BadRequest(ApiError):
    """A 400 about the request as a whole (e.g. an unreadable query parameter)."""

    status_code = 400
    code = "bad_request"


class NotAuthenticated(ApiError):
    status_code = 401
    code = "not_authenticated"
    detail = "Authentication credentials were not provided or are not valid."


class PermissionDenied(ApiError):
    status_code = 403
    code = "permission_denied"
    detail = "You do not have permission to perform this action."


class NotFound(ApiError):
    status_code = 404
    code = "not_found"
    detail = "Not found."


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "too_large"
    detail = "The request body is too large."


class Throttled(ApiError):
    status_code = 429
    code = "throttled"
    detail = "Too many attempts. Try again later."


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"
    detail = "A backing service is unavailable. Try again shortly."


class InternalError(ApiError):
    status_code = 500
    code = "internal_error"
    detail = "An internal error occurred."


# Chalice's own error responses ({"Code", "Message"}) mapped to our codes.
CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "BadRequestError": "bad_request",
    "InternalServerError": "internal_error",
}
