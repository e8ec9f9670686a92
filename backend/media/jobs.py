"""The download job: every inbound file fetched at once, because Meta's media ids expire.

At-least-once and idempotent: the job makes the message's media row if it is missing, does nothing
once the file is stored, and storing is by hash, so a duplicate run rewrites nothing. A failure
that a later try may cure is retried with exponential backoff and full jitter
(`MEDIA_DOWNLOAD_MAX_ATTEMPTS`, by default twelve tries over four to five hours, while Meta
still keeps the file); the reason shows on the message meanwhile. A file that cannot be fetched ends
`failed` with its reason and a Retry button in the inbox — never only a log line.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.channels.models import Channel, ProviderKind
from backend.conversations.emit import emit_message
from backend.conversations.models import Conversation, Direction, Message
from backend.core.context import MEDIA_QUEUE, AppContext
from backend.core.logging import get_logger
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.media.fetching import Fetched, FetchError, fetch_cloud_media, fetch_link
from backend.media.kinds import MEDIA_KINDS, default_filename
from backend.media.models import MediaState, MessageMedia
from backend.media.storage import MediaStorage, StorageError
from backend.realtime.events import commit_and_publish
from backend.realtime.types import EventType

log = get_logger(__name__)

DOWNLOAD_JOB = "download_media"
SWEEP_CURSOR = "switchboard:media:swept_up_to"


def storage_of(app: AppContext) -> MediaStorage:
    """One storage client per process, made on first use."""
    storage: MediaStorage | None = app.extras.get("media_storage")
    if storage is None:
        storage = MediaStorage.from_settings(app.settings)
        app.extras["media_storage"] = storage
    return storage


def _http(app: AppContext) -> httpx.AsyncClient:
    client: httpx.AsyncClient | None = app.extras.get("http")
    if client is None:
        client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
        app.extras["http"] = client
    return client


async def enqueue_download(
    queue: ArqRedis, message_id: int, cause: int | str = 0, delay: float | None = None
) -> bool:
    """False when Redis is unreachable: the sweep finds the file later."""
    try:
        await queue.enqueue_job(
            DOWNLOAD_JOB, message_id, _job_id=f"media:{message_id}:{cause}",
            _defer_by=timedelta(seconds=delay) if delay else None, _queue_name=MEDIA_QUEUE,
        )  # fmt: skip
        return True
    except Exception as error:
        log.warning("media enqueue failed", message_id=message_id, error=type(error).__name__)
        return False


def _row_values(message: Message) -> dict[str, Any]:
    payload = message.payload or {}

    def text(key: str) -> str | None:
        value = payload.get(key)
        return value if isinstance(value, str) and value else None

    link = text("link") or text("url")
    now = utcnow()
    return {
        "message_id": message.id, "kind": message.type, "mime_type": text("mime_type"),
        "filename": text("filename"), "caption": text("caption"),
        "voice": payload.get("voice") is True or payload.get("ultramsg_type") == "ptt",
        "state": MediaState.pending.value,
        "provider_media_id": text("id"), "source_url": link, "attempts": 0,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


async def ensure_row(session: AsyncSession, message: Message) -> MessageMedia:
    """The message's media row, made from its payload the first time (insert-or-ignore)."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    await session.execute(
        insert(MessageMedia)
        .values(**_row_values(message))
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
    row = await session.get(MessageMedia, message.id, populate_existing=True)
    assert row is not None
    return row


async def announce(session: AsyncSession, message_id: int) -> None:
    """`message.updated` with the message as the REST API shows it (its media state changed)."""
    message = await session.get(Message, message_id)
    assert message is not None
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    await emit_message(session, EventType.message_updated, message, conversation)


def backoff(app: AppContext, attempt: int) -> float:
    settings = app.settings
    ceiling = min(
        settings.media_retry_cap_seconds, settings.media_retry_base_seconds * 2 ** (attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


async def _fetch(app: AppContext, channel: Channel, row: MessageMedia) -> Fetched:
    storage = storage_of(app)
    if channel.provider == ProviderKind.ultramsg.value:
        if not row.source_url:
            raise FetchError("Ultramsg sent no link to the file", retryable=False)
        fetched = await fetch_link(_http(app), storage, row.source_url)
    elif not row.provider_media_id:
        raise FetchError("no WhatsApp media id to fetch the file with", retryable=False)
    else:
        fetched = await fetch_cloud_media(
            _http(app), storage, base_url=channel.api_base_url or app.settings.graph_api_base_url,
            access_token=channel.access_token, media_id=row.provider_media_id,
        )  # fmt: skip
    try:
        await storage.keep(fetched.spooled)
    except StorageError as error:
        raise FetchError(f"storage: {error}", retryable=True) from error
    return fetched


async def download_media(ctx: dict[str, Any], message_id: int) -> str:
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        message = await session.get(Message, message_id)
        if (
            message is None
            or message.direction != Direction.inbound.value
            or message.type not in MEDIA_KINDS
        ):
            return "not media"
        row = await ensure_row(session, message)
        await session.commit()
        if row.state != MediaState.pending.value:
            return row.state  # stored already, or failed until someone presses Retry
        if row.next_attempt_at is not None and row.next_attempt_at > utcnow() + timedelta(
            seconds=1
        ):
            return "not due"
        channel = await session.get(Channel, message.channel_id)
        assert channel is not None
    limit = app.settings.media_download_timeout_seconds
    try:
        # Our own limit, inside arq's: a try that runs too long is counted and retried like any
        # other failure, instead of leaving the file pending for the sweep to find.
        async with asyncio.timeout(limit):
            fetched = await _fetch(app, channel, row)
    except FetchError as error:
        return await _attempt_failed(app, message_id, error)
    except TimeoutError:
        failed = FetchError(f"the download took longer than {limit} s", retryable=True)
        return await _attempt_failed(app, message_id, failed)
    async with app.sessions() as session:
        stored = await session.get(MessageMedia, message_id)
        assert stored is not None
        row = stored
        spooled = fetched.spooled
        row.state = MediaState.stored.value
        row.sha256, row.size, row.error = spooled.sha256, spooled.size, None
        row.mime_type = row.mime_type or fetched.mime_type
        row.filename = row.filename or default_filename(row.kind, row.mime_type, message_id)
        row.attempts += 1
        row.next_attempt_at = None
        row.updated_at = utcnow()
        await announce(session, message_id)
        await commit_and_publish(session, app.redis)
    return "stored"


async def _attempt_failed(app: AppContext, message_id: int, error: FetchError) -> str:
    async with app.sessions() as session:
        row = await session.get(MessageMedia, message_id)
        assert row is not None
        row.attempts += 1
        row.updated_at = utcnow()
        final = not error.retryable or row.attempts >= app.settings.media_download_max_attempts
        delay = 0.0
        if final:
            row.state, row.error, row.next_attempt_at = MediaState.failed.value, error.reason, None
        else:
            delay = backoff(app, row.attempts)
            row.error = f"{error.reason}; retrying"
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        attempts = row.attempts
        await announce(session, message_id)
        await commit_and_publish(session, app.redis)
    if final:
        log.warning("media download failed", message_id=message_id, reason=error.reason)
        return "failed"
    await enqueue_download(app.queue, message_id, attempts, delay)
    return "retrying"


async def retry_download(session: AsyncSession, message_id: int) -> bool:
    """Puts a failed file back to pending (the caller checked visibility, commits and enqueues);
    False when there is nothing to retry."""
    row = await session.get(MessageMedia, message_id)
    if row is None or row.state != MediaState.failed.value:
        return False
    row.state, row.error, row.attempts, row.next_attempt_at = (
        MediaState.pending.value,
        None,
        0,
        None,
    )
    row.updated_at = utcnow()
    await session.flush()
    await announce(session, message_id)
    return True


def retry_cause() -> str:
    return f"retry-{uuid.uuid4().hex}"


async def media_sweep(ctx: dict[str, Any]) -> int:
    """Safety net for enqueues that Redis lost: files whose retry is due but whose job vanished,
    and media messages that never got a job (a cursor walks new messages once, by id)."""
    app: AppContext = ctx["app"]
    now = utcnow()
    quiet = now - timedelta(seconds=60)
    cursor = int(await app.redis.get(SWEEP_CURSOR) or 0)
    async with app.sessions() as session:
        due = (
            await session.execute(
                select(MessageMedia.message_id)
                .where(
                    col(MessageMedia.state) == MediaState.pending.value,
                    col(MessageMedia.updated_at) < quiet,
                    col(MessageMedia.provider_media_id).is_not(None)
                    | col(MessageMedia.source_url).is_not(None),
                )
                .where(
                    col(MessageMedia.next_attempt_at).is_(None)
                    | (col(MessageMedia.next_attempt_at) <= now)
                )
                .limit(200)
            )
        ).scalars().all()  # fmt: skip
        fresh = (
            await session.execute(
                select(Message.id, Message.created_at, Message.type)
                .where(col(Message.id) > cursor, col(Message.direction) == Direction.inbound.value)
                .order_by(col(Message.id))
                .limit(500)
            )
        ).all()
        settled = []  # the oldest run of messages past the hook's minute: the cursor moves over it
        for message_id, created_at, kind in fresh:
            if created_at >= quiet:
                break
            settled.append((message_id, kind))
        wanted = [message_id for message_id, kind in settled if kind in MEDIA_KINDS]
        known = set(
            (
                await session.execute(
                    select(MessageMedia.message_id).where(col(MessageMedia.message_id).in_(wanted))
                )
            ).scalars()
        ) if wanted else set()  # fmt: skip
        missing = [message_id for message_id in wanted if message_id not in known]
    for message_id in [*due, *missing]:
        await enqueue_download(app.queue, message_id, f"sweep-{int(now.timestamp())}")
    if settled:
        await app.redis.set(SWEEP_CURSOR, settled[-1][0])
    if due or missing:
        log.info("media sweep enqueued", due=len(due), missing=len(missing))
    return len(due) + len(missing)
