"""The send job: one outbound message through its channel's provider, exactly once on our side.

A job first takes a lease on the message with a conditional UPDATE (`queued` → `sending`), so two
workers, or a job and its duplicate, never both send it. The lease expires if a worker dies
mid-send; the reconcile job then re-queues the message. What remains is at-least-once for that
narrow window: if the provider accepted the message but the worker died before recording the
wamid, the retry sends it again (the Cloud API has no idempotency key to prevent this).

Messages to one customer leave in the order they were written: a message is not sent while an
earlier outbound message of its conversation is still waiting; when that one settles, the next is
enqueued.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from backend.channels.base import OutboundRequest, Provider, SendError
from backend.channels.models import Channel, ProviderKind
from backend.channels.ratelimit import ChannelRateLimiter
from backend.config import Settings
from backend.conversations.ingest import apply_pending_statuses
from backend.conversations.models import Contact, Conversation, Message, MessageStatus
from backend.conversations.outbound import enqueue_send
from backend.conversations.views import message_json
from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.db.engine import serialize_writes
from backend.db.types import utcnow
from backend.media.kinds import MEDIA_KINDS
from backend.media.outbound import outbound_media_body
from backend.metrics.jobs import record_send
from backend.realtime.events import commit_and_publish, record_event

log = get_logger(__name__)

PENDING = (MessageStatus.queued.value, MessageStatus.sending.value)


def backoff_seconds(settings: Settings, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(
        settings.send_retry_cap_seconds, settings.send_retry_base_seconds * 2 ** (attempt - 1)
    )
    delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
    return max(delay, retry_after or 0.0)


def provider_for(app: AppContext, channel: Channel) -> Provider:
    client: httpx.AsyncClient = app.extras["http"]
    if channel.provider == ProviderKind.ultramsg.value:
        from backend.channels.ultramsg.provider import UltramsgProvider

        ultramsg: Provider = UltramsgProvider(
            base_url=channel.api_base_url or "https://api.ultramsg.com",
            instance_id=channel.phone_number_id, token=channel.access_token, client=client,
        )  # fmt: skip
        return ultramsg
    from backend.channels.whatsapp.cloud_api import CloudApiProvider

    cloud: Provider = CloudApiProvider(
        base_url=channel.api_base_url or app.settings.graph_api_base_url,
        phone_number_id=channel.phone_number_id, access_token=channel.access_token, client=client,
    )  # fmt: skip
    return cloud


def _lease_expired_before(settings: Settings) -> datetime:
    """A lease counts as crashed only after a grace, so the statuses of a send whose answer was
    lost (they carry our key) can arrive and settle the message before anyone sends it again."""
    return utcnow() - timedelta(seconds=settings.send_reconcile_grace_seconds)


async def _take_lease(app: AppContext, message_id: int) -> bool:
    earlier = aliased(Message)
    now = utcnow()
    crashed_before = _lease_expired_before(app.settings)
    async with app.sessions() as session:
        claimed = await session.execute(
            update(Message)
            .where(
                col(Message.id) == message_id,
                or_(
                    and_(
                        col(Message.status) == MessageStatus.queued.value,
                        or_(
                            col(Message.next_attempt_at).is_(None),
                            col(Message.next_attempt_at) <= now,
                        ),
                    ),
                    and_(
                        col(Message.status) == MessageStatus.sending.value,
                        col(Message.lease_until) < crashed_before,
                    ),
                ),
                ~exists().where(
                    col(earlier.conversation_id) == col(Message.conversation_id),
                    col(earlier.direction) == "outbound",
                    col(earlier.id) < col(Message.id),
                    col(earlier.status).in_(PENDING),
                ),
            )
            .values(
                status=MessageStatus.sending.value,
                lease_until=now + timedelta(seconds=app.settings.send_lease_seconds),
                attempts=col(Message.attempts) + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _settle(
    app: AppContext, message_id: int, values: dict[str, Any], provider_id: str | None = None
) -> Message:
    async with app.sessions() as session:
        if provider_id:  # its statuses may be arriving: either they see the wamid, or it sees them
            await serialize_writes(session)
        message = await session.get(Message, message_id)
        assert message is not None
        for key, value in values.items():
            setattr(message, key, value)
        message.lease_until = None
        message.updated_at = utcnow()
        if provider_id:
            message.provider_message_id = provider_id
        await session.flush()
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        await record_event(
            session, "message.status", {"message": await message_json(session, message)},
            conversation_id=conversation.id, team_id=conversation.team_id,
            assignee_id=conversation.assignee_id,
        )  # fmt: skip
        if provider_id:
            await apply_pending_statuses(session, message.channel_id, provider_id)
        await commit_and_publish(session, app.redis)
        return message


async def _kick_next(app: AppContext, conversation_id: int, settled_id: int) -> None:
    """The conversation's next waiting message may go now that this one has settled."""
    async with app.sessions() as session:
        following = (
            await session.execute(
                select(Message.id, Message.sender)
                .where(
                    col(Message.conversation_id) == conversation_id,
                    col(Message.direction) == "outbound",
                    col(Message.status) == MessageStatus.queued.value,
                )
                .order_by(col(Message.id))
                .limit(1)
            )
        ).first()
    if following is not None:
        await enqueue_send(
            app.queue, following[0], f"after-{settled_id}", urgent=following[1] == "agent"
        )


async def _token_for(app: AppContext, channel: Channel, message_id: int) -> bool:
    """A rate-limit token for a message that holds its lease, so only sends that go take one.

    A short wait is slept through; a long one (a backlog far beyond the limit) gives the message
    back as `queued`, due when a token will be free, so the job's slot and the lease are not held
    while it waits."""
    assert channel.id is not None
    limiter: ChannelRateLimiter = app.extras["rate_limiter"]
    budget = min(2.0, app.settings.send_lease_seconds / 4)
    waited = 0.0
    while (wait := await limiter.try_take(channel.id, channel.rate_per_second)) > 0:
        if waited + wait > budget:
            await _give_back(app, message_id, wait)
            return False
        await asyncio.sleep(wait)
        waited += wait
    return True


async def _give_back(app: AppContext, message_id: int, delay: float) -> None:
    due = utcnow() + timedelta(seconds=delay)
    async with app.sessions() as session:
        await session.execute(
            update(Message)
            .where(col(Message.id) == message_id, col(Message.status) == MessageStatus.sending.value)
            .values(status=MessageStatus.queued.value, lease_until=None, next_attempt_at=due,
                    attempts=col(Message.attempts) - 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        await session.commit()
    await enqueue_send(app.queue, message_id, f"rate-{due.timestamp():.3f}", delay)


async def send_message(ctx: dict[str, Any], message_id: int) -> str:
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return "missing"
        channel = await session.get(Channel, message.channel_id)
        conversation = await session.get(Conversation, message.conversation_id)
        assert channel is not None and channel.id is not None and conversation is not None
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None
    if not await _take_lease(app, message_id):
        # Sent already, held by another worker, not due yet, or an earlier one waits (it hands
        # this one on when it settles): no rate-limit token is spent on it.
        return "not mine"
    if not await _token_for(app, channel, message_id):
        return "deferred"
    attempt = message.attempts + 1
    provider = provider_for(app, channel)
    try:
        body = message.payload
        if message.type in MEDIA_KINDS:  # an agent's file: uploaded once, then sent by its id
            body = await outbound_media_body(app, provider, message)
        request = OutboundRequest(
            to=contact.wa_id, kind=message.type, body=body, recipient=contact.user_id
        )
        provider_id = await provider.send(request, idempotency_key=f"sb-{message_id}")
    except SendError as error:
        outcome = await _handle_error(app, message, conversation.id, attempt, error)
        await record_send(app.redis, outcome, error.code)
        return outcome
    await _settle(app, message_id, {"status": MessageStatus.sent.value, "error_code": None,
                                     "error_title": None, "next_attempt_at": None}, provider_id)  # fmt: skip
    await _kick_next(app, conversation.id or 0, message_id)
    await record_send(app.redis, "sent", None)
    return "sent"


async def _handle_error(
    app: AppContext, message: Message, conversation_id: int | None, attempt: int, error: SendError
) -> str:
    assert message.id is not None
    failure = {"error_code": error.code, "error_title": error.title}
    if not error.retryable:
        await _settle(app, message.id, {"status": MessageStatus.failed.value, **failure})
        await _kick_next(app, conversation_id or 0, message.id)
        log.info("send failed", message_id=message.id, code=error.code)
        return "failed"
    if attempt >= app.settings.send_max_attempts:
        await _settle(app, message.id, {"status": MessageStatus.dead.value, **failure})
        await _kick_next(app, conversation_id or 0, message.id)
        log.warning(
            "send dead after retries", message_id=message.id, attempts=attempt, code=error.code
        )
        return "dead"
    delay = backoff_seconds(app.settings, attempt, error.retry_after)
    await _settle(app, message.id, {
        "status": MessageStatus.queued.value, "next_attempt_at": utcnow() + timedelta(seconds=delay), **failure,
    })  # fmt: skip
    await enqueue_send(app.queue, message.id, attempt, delay)
    return "retrying"


async def reconcile_outbox(ctx: dict[str, Any]) -> int:
    """Safety net: enqueue messages left queued (Redis was down) or with an expired send lease."""
    app: AppContext = ctx["app"]
    now = utcnow()
    stale = _lease_expired_before(app.settings)  # leave fresh messages to their own enqueue
    async with app.sessions() as session:
        rows = (
            await session.execute(
                select(Message.id, Message.attempts)
                .where(
                    col(Message.direction) == "outbound",
                    or_(
                        and_(
                            col(Message.status) == MessageStatus.queued.value,
                            col(Message.updated_at) < stale,
                            or_(
                                col(Message.next_attempt_at).is_(None),
                                col(Message.next_attempt_at) <= now,
                            ),
                        ),
                        and_(
                            col(Message.status) == MessageStatus.sending.value,
                            col(Message.lease_until) < _lease_expired_before(app.settings),
                        ),
                    ),
                )
                .order_by(col(Message.id))
                .limit(500)
            )
        ).all()
    for message_id, attempts in rows:
        await enqueue_send(app.queue, message_id, attempts)
    if rows:
        log.info("reconciled outbox", enqueued=len(rows))
    return len(rows)


async def show_typing(ctx: dict[str, Any], message_id: int) -> str:
    """ "typing…" on the customer's phone, on a read receipt for their message (best effort:
    it is gone in 25 s anyway, so a refusal is logged, never retried)."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        message = await session.get(Message, message_id)
        if message is None or not message.provider_message_id:
            return "missing"
        channel = await session.get(Channel, message.channel_id)
        assert channel is not None
    if not channel.typing_indicator:
        return "disabled"
    try:
        shown = await provider_for(app, channel).show_typing(message.provider_message_id)
    except SendError as error:
        log.info("typing indicator refused", code=error.code)
        return "refused"
    return "shown" if shown else "unsupported"


async def mark_read(ctx: dict[str, Any], message_id: int) -> str:
    """Blue ticks on the customer's phone; marking the newest message marks all before it."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        message = await session.get(Message, message_id)
        if message is None or not message.provider_message_id:
            return "missing"
        channel = await session.get(Channel, message.channel_id)
        assert channel is not None
    try:
        await provider_for(app, channel).mark_read(message.provider_message_id)
    except SendError as error:
        log.info("mark read refused", code=error.code)
        return "refused"
    return "read"
