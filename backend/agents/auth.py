"""Sign-in sessions: Litestar's JWT cookie auth (cookie or Bearer), role guards and CSRF.

Litestar's JWTCookieAuth reads the `Authorization: Bearer` header first and the HttpOnly cookie
second, so the browser and business systems share one mechanism. CSRF only matters for requests
that a browser authenticates by cookie on its own, so the CSRF check is skipped when a request
carries a Bearer header or no session cookie at all (it is then refused by auth, if it needs auth).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token
from litestar.types import Receive, Scope, Send

from backend.agents.models import Agent, Role
from backend.agents.services import is_revoked, team_ids
from backend.config import Settings
from backend.core.context import AppContext, context_of

SESSION_COOKIE = "sb_session"
CSRF_COOKIE = "sb_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class CurrentAgent:
    id: int
    email: str
    name: str
    role: str
    team_ids: tuple[int, ...]

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.lead.value, Role.admin.value)


def token_epoch(token: Token) -> int:
    """The session epoch a token was signed in under (tokens from before epochs: 0)."""
    epoch = (token.extras or {}).get("epoch", 0)
    return epoch if isinstance(epoch, int) else -1


async def load_current_agent(
    context: AppContext, agent_id: int, epoch: int | None = None
) -> CurrentAgent | None:
    """The signed-in agent, or None when deactivated or (given `epoch`) when their sessions
    were ended since the token was made (deactivation, a password reset)."""
    async with context.sessions() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None or not agent.active:
            return None
        if epoch is not None and epoch != agent.session_epoch:
            return None
        teams = await team_ids(session, agent_id)
        assert agent.id is not None
        return CurrentAgent(agent.id, agent.email, agent.name, agent.role, tuple(teams))


async def _retrieve_agent(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> CurrentAgent | None:
    try:
        agent_id = int(token.sub)
    except ValueError:
        return None
    return await load_current_agent(context_of(connection), agent_id, token_epoch(token))


async def _token_revoked(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    async with context_of(connection).sessions() as session:
        return await is_revoked(session, str(token.jti) if token.jti else None)


def rotating_token(previous: list[str]) -> type[Token]:
    """A Token that also accepts signatures by the previous SECRET_KEYs (rotation: sessions
    signed before it stay valid until they expire; new ones use the first key)."""

    class RotatingToken(Token):
        @classmethod
        def decode(
            cls, encoded_token: str, secret: str, algorithm: str, *args: Any, **kwargs: Any
        ) -> Any:
            try:
                return super().decode(encoded_token, secret, algorithm, *args, **kwargs)
            except NotAuthorizedException:
                for old in previous:
                    try:
                        return super().decode(encoded_token, old, algorithm, *args, **kwargs)
                    except NotAuthorizedException:
                        continue
                raise

    return RotatingToken


def build_jwt_auth(
    settings: Settings,
    middleware_class: type[JWTCookieAuthenticationMiddleware] = JWTCookieAuthenticationMiddleware,
) -> JWTCookieAuth[CurrentAgent, Token]:
    """`middleware_class` lets the app add API keys beside sessions on the same header."""
    return JWTCookieAuth[CurrentAgent, Token](
        authentication_middleware_class=middleware_class,
        token_secret=settings.signing_key(),
        token_cls=rotating_token(settings.previous_signing_keys()),
        retrieve_user_handler=_retrieve_agent,
        revoked_token_handler=_token_revoked,
        default_token_expiration=timedelta(hours=settings.session_hours),
        key=SESSION_COOKIE,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        exclude=[
            "^/$", "^/health", "^/ready", "^/metrics", "^/schema", "^/assets", "^/webhooks",
            "^/sandbox", "^/api/v1/auth/login", "^/api/v1/ws", "^/favicon",
        ],
    )  # fmt: skip


def new_token_id() -> str:
    return uuid.uuid4().hex


def require_role(*roles: Role) -> Any:
    allowed = {role.value for role in roles}

    # async, though it awaits nothing: Litestar runs a sync guard in a thread-pool executor.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, CurrentAgent) or user.role not in allowed:
            raise PermissionDeniedException(f"this needs the role {' or '.join(sorted(allowed))}")

    return guard


class CookieCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, applied only to cookie-authenticated requests."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = dict(scope["headers"])
            has_bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
            has_session = SESSION_COOKIE.encode() in headers.get(b"cookie", b"")
            method = scope.get("method", "GET")
            if method not in self.config.safe_methods and (has_bearer or not has_session):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
