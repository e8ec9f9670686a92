"""The Litestar application factory: wiring only; behaviour lives in the domain packages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

# The reacting domains register at import; the web needs their ingest hooks (the survey reply router).
from backend import reactions as _reactions  # noqa: F401
from backend.agents.account import ACCOUNT_HANDLERS, two_factor_guard
from backend.agents.auth import CSRF_COOKIE, CSRF_HEADER, CookieCSRFMiddleware, build_jwt_auth
from backend.agents.routes import (
    AgentsController,
    AuthController,
    change_my_password,
    change_my_profile,
    password_link,
    set_password_from_link,
)
from backend.agents.teams import TEAM_HANDLERS
from backend.audit.routes import AUDIT_HANDLERS
from backend.bots.routes import BOT_HANDLERS
from backend.channels.routes import ChannelController, receive_ultramsg
from backend.channels.services import desk_warnings, ensure_default_channel
from backend.channels.whatsapp.routes import receive_webhook, verify_subscription
from backend.config import Settings, get_settings
from backend.conversations.contact_routes import ContactController, LabelController
from backend.conversations.governance_routes import GOVERNANCE_HANDLERS
from backend.conversations.routes import ConversationController, MessageController
from backend.core.allowlists import allowlist_guard
from backend.core.api_docs import LocalSwaggerUI
from backend.core.context import AppContext
from backend.core.errors import ERROR_HANDLERS
from backend.core.guards import all_of
from backend.core.input_checks import integer_range_guard
from backend.core.logging import configure_logging, get_logger
from backend.core.openapi_errors import document_errors
from backend.core.request_id import RequestIdMiddleware
from backend.core.security_headers import security_headers
from backend.db.migrate import ensure_current
from backend.desk import list_warnings
from backend.frontend_routes import frontend_handlers
from backend.health.routes import health, ready
from backend.integrations.key_auth import SessionOrKeyAuthMiddleware, api_key_scope_guard
from backend.integrations.key_routes import ApiKeyController
from backend.integrations.message_routes import ApiMessageController
from backend.integrations.webhook_routes import WebhookEndpointController
from backend.media.routes import MEDIA_HANDLERS
from backend.metrics.web import WebhookMetricsMiddleware, metrics
from backend.notifications.routes import NotificationController
from backend.quick_replies.routes import QuickReplyController
from backend.realtime.fanout import LiveFeed
from backend.realtime.hub import ListenerWatchdog, build_channels
from backend.realtime.routes import events_socket, list_events
from backend.realtime.viewers import i_am_viewing, who_is_viewing
from backend.search.routes import search_route
from backend.sla.routes import SLA_HANDLERS
from backend.surveys.routes import SURVEY_HANDLERS
from backend.templates.jobs import request_sync_soon
from backend.templates.routes import TEMPLATE_EXCEPTION_HANDLERS, TEMPLATE_HANDLERS

log = get_logger(__name__)


async def _db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    context: AppContext = request.app.state.context
    async with context.sessions() as session:
        yield session


_DOWN_HINTS = ("database is locked", "connection", "could not connect", "server closed", "timeout")


def _is_storage_down(error: Exception) -> bool:
    """Only an unreachable or busy database is a 503 (so that Meta retries); a bug stays a 500."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    reason = str(getattr(error, "orig", error)).lower()
    return isinstance(error, OSError | TimeoutError) or any(hint in reason for hint in _DOWN_HINTS)


def _storage_down(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    if not _is_storage_down(error):
        log.exception("database error", path=request.url.path)
        return Response({"status_code": 500, "detail": "internal server error"}, status_code=500)
    log.error(
        "storage unavailable",
        path=request.url.path,
        error=type(error).__name__,
        reason=str(error.orig) if isinstance(error, DBAPIError) else str(error),
    )
    return Response(
        {"status_code": 503, "detail": "storage is unavailable, try again shortly"},
        status_code=503, headers={"Retry-After": "5"},
    )  # fmt: skip


def route_handlers(settings: Settings) -> list[Any]:
    handlers: list[Any] = [
        health, ready, AuthController, AgentsController, change_my_password, change_my_profile, password_link, set_password_from_link, *TEAM_HANDLERS, list_warnings, ConversationController,
        MessageController, verify_subscription, receive_webhook, events_socket, list_events,
        ChannelController, receive_ultramsg, i_am_viewing, who_is_viewing,
        QuickReplyController, NotificationController, ContactController, LabelController, search_route, ApiKeyController, ApiMessageController, WebhookEndpointController,
        *ACCOUNT_HANDLERS, *AUDIT_HANDLERS, *GOVERNANCE_HANDLERS, *BOT_HANDLERS, *SURVEY_HANDLERS, *SLA_HANDLERS, *TEMPLATE_HANDLERS, *MEDIA_HANDLERS, metrics,
    ]  # fmt: skip
    if settings.sandbox_is_enabled:
        from backend.channels.sandbox.routes import sandbox_router

        handlers.append(sandbox_router)
    return [*handlers, *frontend_handlers()]


def create_app(settings: Settings | None = None, context: AppContext | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    jwt_auth = build_jwt_auth(settings, SessionOrKeyAuthMiddleware)
    own_context = context is None
    ctx = context or AppContext.build(settings)
    channels = build_channels(ctx.redis)
    watchdog = ListenerWatchdog(channels)
    feed = LiveFeed(channels, ctx.sessions)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await ensure_current(ctx.engine, settings.database_url)
        async with ctx.sessions() as session:
            await ensure_default_channel(session, settings)
            await session.commit()
            for warning in await desk_warnings(session):
                log.warning(warning)
        await request_sync_soon(ctx.queue)
        watchdog.start()
        log.info("web started", database=ctx.engine.url.get_backend_name())
        try:
            yield
        finally:
            await feed.stop()
            await watchdog.stop()
            if own_context:
                await ctx.close()

    csrf = CSRFConfig(
        secret=settings.signing_key(), cookie_name=CSRF_COOKIE, header_name=CSRF_HEADER,
        cookie_httponly=False, cookie_samesite="lax",
        cookie_secure=settings.public_base_url.startswith("https://"),
        exclude=["/webhooks", "/sandbox", "/api/v1/auth/login"],
    )  # fmt: skip
    app = Litestar(
        route_handlers=route_handlers(settings),
        dependencies={"db_session": Provide(_db_session)},
        lifespan=[lifespan],
        before_send=[security_headers(https=settings.public_base_url.startswith("https://"))],
        guards=[
            all_of(integer_range_guard, allowlist_guard, api_key_scope_guard, two_factor_guard)
        ],
        on_app_init=[jwt_auth.on_app_init],
        plugins=[channels],
        middleware=[
            RequestIdMiddleware(),
            DefineMiddleware(CookieCSRFMiddleware, config=csrf),
            WebhookMetricsMiddleware,
        ],
        exception_handlers={
            DBAPIError: _storage_down,
            OSError: _storage_down,
            **ERROR_HANDLERS,
            **TEMPLATE_EXCEPTION_HANDLERS,
        },
        openapi_config=OpenAPIConfig(
            title="Switchboard", version="0.1.0", path="/schema", render_plugins=[LocalSwaggerUI()]
        ),
        logging_config=None,
        debug=False,
    )
    app.state.jwt_auth = jwt_auth
    document_errors(app)
    app.state.context = ctx
    app.state.readiness_watchdogs = {"events": watchdog.problem}
    app.state.live_feed = feed
    app.state.settings = settings
    return app
