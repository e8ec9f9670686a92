"""Webhook endpoints: saved with a checked URL and a secret shown once; rotated with an overlap.

Secrets are read only through `secrets_of` and written only through `_set_secret`, so encrypting
them at rest changes these two functions and nothing else.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.audit.changes import config_changed
from backend.core.errors import ServiceError
from backend.core.logging import get_logger
from backend.db.engine import serialize_writes
from backend.db.types import utcnow
from backend.integrations.addresses import UnsafeTarget, resolve_target
from backend.integrations.models import EndpointState, WebhookCursor, WebhookEndpoint
from backend.realtime.audience import CONFIG_ONLY
from backend.realtime.models import Event

log = get_logger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
ROTATION_OVERLAP = timedelta(hours=24)
CURSOR = "webhooks"
# Set while any endpoint is active, so the after-commit hook skips the queue when none is.
ACTIVE_FLAG = "switchboard:webhooks:active"
_TYPE = re.compile(r"[a-z_]+\.[a-z_]+")
# Agent-private events and configuration changes never leave the desk, whatever an endpoint
# subscribes to.
PRIVATE_PREFIXES = ("notification.", "agent.", *CONFIG_ONLY)


def secrets_of(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets that sign right now: the current one, and the previous one during its overlap."""
    now = now or utcnow()
    valid = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        valid.append(endpoint.previous_secret)
    return valid


def _set_secret(endpoint: WebhookEndpoint, secret: str, previous: str | None = None) -> None:
    endpoint.secret = secret
    endpoint.previous_secret = previous


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def checked_events(events: list[str]) -> list[str]:
    if not events:
        raise ServiceError(422, 'events must list event types, or be ["*"] for all of them')
    if "*" in events:
        return ["*"]
    bad = [e for e in events if not _TYPE.fullmatch(e) or e.startswith(PRIVATE_PREFIXES)]
    if bad:
        raise ServiceError(422, f"not a deliverable event type: {', '.join(bad)}")
    return sorted(set(events))


def matches(endpoint_events: list[str], event_type: str) -> bool:
    if event_type.startswith(PRIVATE_PREFIXES):
        return False
    return "*" in endpoint_events or event_type in endpoint_events


async def checked_url(url: str, allow_private: bool) -> str:
    try:
        await resolve_target(url, allow_private)
    except UnsafeTarget as error:
        raise ServiceError(422, str(error)) from None
    return url


async def _latest_seq(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(Event.seq)))).scalar_one() or 0)


async def _ensure_cursor(session: AsyncSession, latest: int) -> None:
    if await session.get(WebhookCursor, CURSOR) is None:
        session.add(WebhookCursor(name=CURSOR, last_seq=latest))


async def create_endpoint(
    session: AsyncSession, *, url: str, events: list[str], description: str | None,
    allow_private: bool, by: Any = None,
) -> tuple[WebhookEndpoint, str]:  # fmt: skip
    """The endpoint and its secret; it hears every matching event from now on. Every change to
    an endpoint is audited and announced (`webhook_endpoint.*`, to admins), never its secret."""
    url = await checked_url(url, allow_private)
    await serialize_writes(session)
    latest = await _latest_seq(session)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url, events=checked_events(events), description=description, start_after_seq=latest,
        secret="",
    )  # fmt: skip
    _set_secret(endpoint, secret)
    session.add(endpoint)
    await _ensure_cursor(session, latest)
    await session.flush()
    await config_changed(session, "webhook_endpoint.created", by=by, target_id=endpoint.id,
                         after=_described(endpoint))  # fmt: skip
    return endpoint, secret


def _described(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the audit log and the live event tell it: no secret."""
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description, "state": endpoint.state}  # fmt: skip


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise ServiceError(404, "no such webhook endpoint")
    return endpoint


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
    return list((await session.execute(query)).scalars())


async def update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, *, url: str | None, events: list[str] | None,
    description: str | None, state: str | None, allow_private: bool, by: Any = None,
) -> WebhookEndpoint:  # fmt: skip
    before = _described(endpoint)
    if url is not None:
        endpoint.url = await checked_url(url, allow_private)
    if events is not None:
        endpoint.events = checked_events(events)
    if description is not None:
        endpoint.description = description
    if state is not None:
        if state not in (EndpointState.active.value, EndpointState.disabled.value):
            raise ServiceError(422, "state must be active or disabled")
        if state == EndpointState.active.value and endpoint.state != state:
            endpoint.failing_since = None  # a fresh start: 72 more hours before it is disabled
            endpoint.disabled_reason = None
        elif state == EndpointState.disabled.value and endpoint.state != state:
            endpoint.disabled_reason = "disabled by an admin"
        endpoint.state = state
    endpoint.updated_at = utcnow()
    await session.flush()
    await config_changed(session, "webhook_endpoint.updated", by=by, target_id=endpoint.id,
                         before=before, after=_described(endpoint))  # fmt: skip
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint, *, by: Any) -> None:
    """The endpoint and its deliveries go; nothing more is sent to it."""
    before = _described(endpoint)
    await session.delete(endpoint)
    await session.flush()
    await config_changed(
        session, "webhook_endpoint.deleted", by=by, target_id=before["id"], before=before
    )


async def rotate_secret(session: AsyncSession, endpoint: WebhookEndpoint, *, by: Any = None) -> str:
    """A new secret; the current one keeps signing beside it for 24 hours."""
    now = utcnow()
    secret = new_secret()
    _set_secret(endpoint, secret, previous=secrets_of(endpoint, now)[0])
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.updated_at = now
    await session.flush()
    await config_changed(
        session, "webhook_endpoint.secret_rotated", by=by, target_id=endpoint.id,
        detail=f"the previous secret signs until {endpoint.previous_secret_expires_at.isoformat()}",
        data={"webhook_endpoint": _described(endpoint)},
    )  # fmt: skip
    return secret


async def any_active(session: AsyncSession) -> bool:
    query = select(col(WebhookEndpoint.id)).where(
        col(WebhookEndpoint.state) == EndpointState.active.value
    )
    return (await session.execute(query.limit(1))).first() is not None


async def refresh_active_flag(session: AsyncSession, redis: Redis) -> None:
    """Best effort: without the flag the periodic fan-out still delivers, a few seconds later."""
    try:
        if await any_active(session):
            await redis.set(ACTIVE_FLAG, "1")
        else:
            await redis.delete(ACTIVE_FLAG)
    except Exception as error:
        log.warning("webhook flag not updated", error=type(error).__name__)
