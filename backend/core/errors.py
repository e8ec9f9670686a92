"""Errors: the one family services raise (`ServiceError`), and the last word on everything else.

A service refuses an action by raising `ServiceError` (or a subclass that carries more: templates'
Meta code, agents' field); the route lets it through and the handler here answers it in the
contract's shape. It lives in core because every domain raises it — bots and SLA used to import
conversations' `RoutingError` for it.

An exception no domain handled is logged with its request id and traceback, and answered in the
contract's shape without internals.

Litestar answers unhandled exceptions with a bare 500 and, with our logging config, no line at
all; this handler makes every 500 visible in the logs (the request id is bound by
`RequestIdMiddleware` and comes back to the client as `X-Request-ID`, so a user's report can be
matched to its traceback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from backend.core.input_checks import INT64_MAX
from backend.core.logging import get_logger

log = get_logger(__name__)


class ServiceError(Exception):
    """The action is refused; `status` is the HTTP answer (403, 404, 409, 413, 422), `detail` why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def service_error(_: Request[Any, Any, Any], error: ServiceError) -> Response[dict[str, Any]]:
    return Response({"status_code": error.status, "detail": error.detail}, status_code=error.status)


def unhandled_error(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.error(
        "unhandled error", method=request.method, path=request.url.path,
        error=type(error).__name__, exc_info=error,
    )  # fmt: skip
    return Response({"status_code": 500, "detail": "internal server error"}, status_code=500)


def number_overflow(
    request: Request[Any, Any, Any], error: OverflowError
) -> Response[dict[str, Any]]:
    """A number too large for what it was used for (a date, a duration, a 64-bit column) came from
    the request: the caller's mistake, so a 400 with the reason — logged, in case it was ours."""
    log.warning("number out of range", path=request.url.path, reason=str(error), exc_info=error)
    return Response(
        {"status_code": 400, "detail": f"a number is out of range (integers are 64-bit, at most {INT64_MAX}; dates end in 9999)"},
        status_code=400,
    )  # fmt: skip


ERROR_HANDLERS: dict[Any, Any] = {
    ServiceError: service_error, OverflowError: number_overflow, 500: unhandled_error,
}  # fmt: skip


@dataclass
class ErrorBody:
    """The contract's error shape, as the OpenAPI schema shows it."""

    status_code: int
    detail: str
