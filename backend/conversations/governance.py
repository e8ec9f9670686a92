"""A customer's data has an end: export (JSON and their files) and erasure.

Erasure removes what the customer said and sent — every message's text, payload and media of
their conversations, the bot's collected answers, survey comments, notification excerpts,
consent details — anonymizes the contact, scrubs their events and pending outgoing-webhook
bodies, and keeps the audit entry that says it was done (by whom, when). The rows stay (with
their ids, times and statuses) so reports and SLA figures keep adding up. It touches several
domains' tables on purpose, in one transaction: an erasure that half happened would be worse
than none.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.bots.models import BotState, ConsentChange
from backend.conversations.models import Contact, Conversation, Message
from backend.conversations.views import messages_json
from backend.db.types import utcnow
from backend.integrations.models import WebhookDelivery
from backend.media.models import MessageMedia
from backend.media.storage import MediaStorage
from backend.notifications.models import Notification
from backend.realtime.models import Event
from backend.surveys.models import Survey

ERASED = {"erased": True}


async def _conversation_ids(session: AsyncSession, contact_id: int) -> list[int]:
    rows = await session.execute(
        select(col(Conversation.id)).where(col(Conversation.contact_id) == contact_id)
    )
    return [i for i in rows.scalars() if i is not None]


async def export_contact(session: AsyncSession, contact: Contact, storage: MediaStorage) -> bytes:
    """A zip: `contact.json` (the contact, consent history, every conversation with its
    messages) and `media/<message id>-<file>` for each stored file."""
    assert contact.id is not None
    conversations = []
    files: list[tuple[str, str]] = []
    for conversation_id in await _conversation_ids(session, contact.id):
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        messages = list((await session.execute(
            select(Message).where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.id))
        )).scalars())  # fmt: skip
        items = await messages_json(session, messages)
        conversations.append({
            "id": conversation.id, "status": conversation.status,
            "created_at": conversation.created_at.isoformat(), "messages": items,
        })  # fmt: skip
        for item in items:
            media = await session.get(MessageMedia, item["id"])
            if media is not None and media.sha256 and media.state == "stored":
                name = (media.filename or media.kind).replace("/", "_")[-80:]
                files.append((f"media/{item['id']}-{name}", media.sha256))
    consent = (await session.execute(
        select(ConsentChange).where(col(ConsentChange.contact_id) == contact.id)
    )).scalars()  # fmt: skip
    document = {
        "contact": {
            "id": contact.id, "wa_id": contact.wa_id, "user_id": contact.user_id,
            "username": contact.username, "name": contact.name, "language": contact.language,
            "time_zone": contact.time_zone, "attributes": contact.attributes,
            "opted_out": contact.opted_out, "created_at": contact.created_at.isoformat(),
        },
        "consent": [{"opted_out": c.opted_out, "source": c.source, "detail": c.detail,
                     "at": c.created_at.isoformat()} for c in consent],
        "conversations": conversations,
        "exported_at": utcnow().isoformat(),
    }  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contact.json", json.dumps(document, indent=2, ensure_ascii=False))
        for name, sha in files:
            archive.writestr(name, await storage.read_all(sha))
    return out.getvalue()


async def erase_contact(
    session: AsyncSession, contact: Contact, storage: MediaStorage
) -> dict[str, int]:
    """Everything of the customer's own words and files, gone; figures stay. Returns counts."""
    assert contact.id is not None
    conversations = await _conversation_ids(session, contact.id)
    message_ids = list((await session.execute(
        select(col(Message.id)).where(col(Message.conversation_id).in_(conversations))
    )).scalars()) if conversations else []  # fmt: skip
    shas: set[str] = set()
    if message_ids:
        media_rows = (await session.execute(
            select(MessageMedia).where(col(MessageMedia.message_id).in_(message_ids))
        )).scalars()  # fmt: skip
        for media in media_rows:
            if media.sha256:
                shas.add(media.sha256)
            media.filename, media.caption, media.source_url = None, None, None
            media.provider_media_id, media.sha256, media.state = None, None, "failed"
            media.error = "erased"
        await session.execute(
            update(Message).where(col(Message.id).in_(message_ids))
            .values(text=None, payload=ERASED, updated_at=utcnow())
        )  # fmt: skip
    if conversations:
        await session.execute(
            update(BotState).where(col(BotState.conversation_id).in_(conversations))
            .values(fields={}, inputs=[])
        )  # fmt: skip
        await session.execute(
            update(Survey)
            .where(col(Survey.conversation_id).in_(conversations))
            .values(comment=None)
        )
        await session.execute(
            update(Notification).where(col(Notification.conversation_id).in_(conversations))
            .values(text="[erased]")
        )  # fmt: skip
        seqs = list((await session.execute(
            select(col(Event.seq)).where(col(Event.conversation_id).in_(conversations))
        )).scalars())  # fmt: skip
        await session.execute(
            update(Event).where(col(Event.conversation_id).in_(conversations)).values(data=ERASED)
        )
        if seqs:
            await session.execute(
                update(WebhookDelivery).where(col(WebhookDelivery.event_seq).in_(seqs))
                .values(body=ERASED)
            )  # fmt: skip
    await session.execute(
        update(ConsentChange).where(col(ConsentChange.contact_id) == contact.id).values(detail=None)
    )
    contact.name, contact.username, contact.attributes = None, None, {}
    contact.wa_id, contact.user_id, contact.parent_user_id = None, f"erased.{contact.id}", None
    contact.time_zone, contact.updated_at = None, utcnow()
    await session.flush()
    # A file is shared by hash: keep it only while another (not erased) message still shows it.
    removed = 0
    for sha in shas:
        still = (await session.execute(
            select(col(MessageMedia.message_id)).where(col(MessageMedia.sha256) == sha).limit(1)
        )).first()  # fmt: skip
        if still is None:
            await storage.delete(sha)
            removed += 1
    return {"conversations": len(conversations), "messages": len(message_ids), "files": removed}


EXPIRED = {"expired": True}


async def apply_retention(
    session: AsyncSession, storage: MediaStorage, days: int, chunk: int = 1000, after_id: int = 0
) -> dict[str, int]:
    """RETENTION_DAYS: messages older than `days` lose their text, payload and media; events
    older than that lose their data; contacts with nothing newer are anonymized. Rows, times
    and statuses stay. One chunk of messages per call (the caller loops)."""
    cutoff = utcnow() - timedelta(days=days)
    old = list((await session.execute(
        select(Message).where(col(Message.created_at) < cutoff, col(Message.id) > after_id)
        .order_by(col(Message.id)).limit(chunk)
    )).scalars())  # fmt: skip
    last_id = max((m.id for m in old if m.id is not None), default=0)
    old = [m for m in old if m.payload != EXPIRED]  # JSON is not comparable alike everywhere
    ids = [m.id for m in old if m.id is not None]
    shas: set[str] = set()
    if ids:
        for media in (await session.execute(
            select(MessageMedia).where(col(MessageMedia.message_id).in_(ids))
        )).scalars():  # fmt: skip
            if media.sha256:
                shas.add(media.sha256)
            media.filename, media.caption, media.source_url, media.sha256 = None, None, None, None
            media.state, media.error = "failed", "expired"
        for message in old:
            message.text, message.payload = None, EXPIRED
    if after_id == 0:
        await session.execute(update(Event).where(col(Event.at) < cutoff).values(data=EXPIRED))
    stale = list((await session.execute(
        select(Contact).where(
            col(Contact.last_inbound_at) < cutoff, col(Contact.name).is_not(None)
        ).limit(chunk)
    )).scalars())  # fmt: skip
    anonymized = 0
    for contact in stale:
        newer = (await session.execute(
            select(col(Message.id)).join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(col(Conversation.contact_id) == contact.id, col(Message.created_at) >= cutoff)
            .limit(1)
        )).first()  # fmt: skip
        if newer is None:
            contact.name, contact.username, contact.attributes = None, None, {}
            contact.wa_id, contact.user_id = None, f"expired.{contact.id}"
            anonymized += 1
    await session.flush()
    removed = 0
    for sha in shas:
        still = (await session.execute(
            select(col(MessageMedia.message_id)).where(col(MessageMedia.sha256) == sha).limit(1)
        )).first()  # fmt: skip
        if still is None:
            await storage.delete(sha)
            removed += 1
    await session.commit()
    return {"messages": len(ids), "files": removed, "contacts": anonymized, "last_id": last_id}


def export_filename(contact: Contact) -> str:
    return f"contact-{contact.id}-export.zip"


def audit_view(contact: Contact) -> dict[str, Any]:
    return {"contact_id": contact.id, "channel_id": contact.channel_id}


async def retention_sweep(ctx: dict[str, Any]) -> int:
    """Cron job (worker): applies RETENTION_DAYS in chunks; nothing when it is unset."""
    from backend.core.context import AppContext
    from backend.media.jobs import storage_of

    app: AppContext = ctx["app"]
    days = app.settings.retention_days
    if days is None:
        return 0
    total, after = 0, 0
    while True:
        async with app.sessions() as session:
            done = await apply_retention(session, storage_of(app), days, after_id=after)
        total += done["messages"]
        if not done["last_id"]:
            break
        after = done["last_id"]
    return total
