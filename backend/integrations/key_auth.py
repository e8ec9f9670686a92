"""API keys on the request path: `Authorization: Bearer sbk_…` beside the agents' sessions.

The agents' JWT middleware is extended rather than doubled: a Bearer value that starts with the
key prefix is looked up as an API key (and rate-limited per key), anything else is a session token
as before. A key may use only the routes that name a scope (`opt={"api_scope": …}`) it holds; every
other route — the inbox's whole API — refuses it with 403, and the websocket never accepts one.
"""

from __future__ import annotations

import math
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AuthenticationResult
from litestar.security.jwt import JWTCookieAuthenticationMiddleware

from backend.agents.auth import CurrentAgent
from backend.agents.models import Role
from backend.channels.ratelimit import TokenBuckets
from backend.core.context import context_of
from backend.integrations.keys import KEY_PREFIX, ApiKeyPrincipal, authenticate_key

API_SCOPE = "api_scope"


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _rate_limit(connection: ASGIConnection[Any, Any, Any, Any], key: ApiKeyPrincipal) -> None:
    """A bucket of one minute's requests per key, refilled evenly: 429 with Retry-After beyond it."""
    buckets = TokenBuckets(context_of(connection).redis)
    per_minute = float(key.rate_per_minute)
    wait = await buckets.try_take_from(f"api-key:{key.id}", per_minute / 60.0, per_minute)
    if wait > 0:
        raise TooManyRequestsException(
            f"this API key is over its {key.rate_per_minute} requests per minute",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


class SessionOrKeyAuthMiddleware(JWTCookieAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        raw = _bearer(connection)
        if raw is None or not raw.startswith(KEY_PREFIX):
            return await super().authenticate_request(connection)
        async with context_of(connection).sessions() as session:
            key = await authenticate_key(session, raw)
        if key is None:
            raise NotAuthorizedException("unknown or revoked API key")
        await _rate_limit(connection, key)
        return AuthenticationResult(user=key, auth=key)


def api_key_scope_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:  # fmt: skip
    """App-wide: a key reaches only routes that name a scope, and only with that scope."""
    key = connection.scope.get("user")
    if not isinstance(key, ApiKeyPrincipal):
        return
    needed = handler.opt.get(API_SCOPE)
    if needed is None:
        raise PermissionDeniedException(
            "API keys cannot use this route: it is for signed-in agents"
        )
    if not key.allows(needed):
        raise PermissionDeniedException(f"this API key lacks the scope {needed}")


async def admin_or_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """For routes an admin or a key with the route's scope may use (the key's scope is checked by
    the app-wide guard)."""
    user = connection.user
    if isinstance(user, ApiKeyPrincipal):
        return
    if not isinstance(user, CurrentAgent) or user.role != Role.admin.value:
        raise PermissionDeniedException("this needs the role admin or an API key with its scope")


async def key_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.user, ApiKeyPrincipal):
        raise PermissionDeniedException("this route takes an API key (Authorization: Bearer sbk_…)")


def reader_of(user: CurrentAgent | ApiKeyPrincipal) -> CurrentAgent:
    """Who reads, for the routes a key with `conversations:read` shares with agents: the agent,
    or for a key a reader that sees every conversation as a lead does (it can change nothing:
    every writing route refuses keys)."""
    if isinstance(user, CurrentAgent):
        return user
    return CurrentAgent(
        id=0, email="", name=f"API key {user.name}", role=Role.lead.value, team_ids=()
    )
