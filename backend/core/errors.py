"""The last word on errors: an exception no domain handled is logged with its request id and
traceback, and answered in the contract's shape without internals.

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


ERROR_HANDLERS: dict[Any, Any] = {OverflowError: number_overflow, 500: unhandled_error}


@dataclass
class ErrorBody:
    """The contract's error shape, as the OpenAPI schema shows it."""

    status_code: int
    detail: str
