"""The app-wide guards, run as one: Litestar copies the route handler once per guard per request.

`BaseRouteHandler.authorize_connection` calls each guard with `copy(handler)`, so that a guard
cannot change the handler other requests see. With four app-wide guards that was four shallow
copies of a large object on every request — about 5 % of a web process under webhook load. Our
guards only read the handler, so `all_of` hands them the one copy Litestar makes for it, in the
order given; the first to refuse ends the request as it would have alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None] | None]


def all_of(*guards: Guard) -> Guard:
    """One guard that runs `guards` in order (each may be sync or async)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:  # fmt: skip
        for each in guards:
            result = each(connection, handler)
            if inspect.isawaitable(result):
                await result

    guard.__name__ = "all_of(" + ", ".join(g.__name__ for g in guards) + ")"
    return guard
