"""Per-template figures from the messages that used it: how far each got, whether the customer
answered within 24 hours, and which errors failed the rest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.conversations.models import Direction, Message, MessageStatus
from backend.templates.models import TemplateSend
from backend.templates.services import TemplateError, get_template, siblings_of

REPLY_WINDOW = timedelta(hours=24)
SENT = (MessageStatus.sent.value, MessageStatus.delivered.value, MessageStatus.read.value,
        MessageStatus.played.value)  # fmt: skip
DELIVERED = SENT[1:]
READ = SENT[2:]
FAILED = (MessageStatus.failed.value, MessageStatus.dead.value)


class Figures(BaseModel):
    sent: int = Field(description="accepted by WhatsApp (sent, delivered or read)")
    delivered: int
    read: int
    replied: int = Field(description="the customer wrote within 24 hours of the send")
    failed: dict[str, int] = Field(description="failed or dead messages by Cloud API error code")
    pending: int = Field(description="written, not sent yet")


class LanguageFigures(Figures):
    template_id: int
    language: str


class TemplateStats(Figures):
    template_id: int
    name: str
    language: str
    since: datetime | None
    until: datetime | None
    by_language: list[LanguageFigures]


def _when(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TemplateError(400, f"{what} must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise TemplateError(400, f"{what} needs a time zone (e.g. 2026-12-01T00:00:00+00:00)")
    return parsed


async def figures(
    session: AsyncSession, template_id: int, since: datetime | None, until: datetime | None
) -> Figures:
    query = (
        sa_select(col(Message.id), col(Message.conversation_id), col(Message.status),
               col(Message.error_code), col(TemplateSend.created_at))
        .join(TemplateSend, col(TemplateSend.message_id) == col(Message.id))
        .where(col(TemplateSend.template_id) == template_id)
    )  # fmt: skip
    if since is not None:
        query = query.where(col(TemplateSend.created_at) >= since)
    if until is not None:
        query = query.where(col(TemplateSend.created_at) < until)
    sends = (await session.execute(query)).all()
    failed: dict[str, int] = {}
    for row in sends:
        if row.status in FAILED:
            key = str(row.error_code) if row.error_code is not None else "unknown"
            failed[key] = failed.get(key, 0) + 1
    return Figures(
        sent=sum(row.status in SENT for row in sends),
        delivered=sum(row.status in DELIVERED for row in sends),
        read=sum(row.status in READ for row in sends),
        replied=await _replied(session, sends),
        failed=failed,
        pending=sum(row.status not in SENT and row.status not in FAILED for row in sends),
    )


async def _replied(session: AsyncSession, sends: Sequence[Any]) -> int:
    """Sends followed by a customer message in their conversation within 24 hours."""
    if not sends:
        return 0
    first_after: dict[int, datetime] = {}
    for row in sends:
        found = (
            await session.execute(
                select(func.min(Message.created_at)).where(
                    col(Message.conversation_id) == row.conversation_id,
                    col(Message.direction) == Direction.inbound.value,
                    col(Message.created_at) > row.created_at,
                )
            )
        ).scalar_one_or_none()
        if found is not None:
            first_after[row.id] = found
    return sum(
        1 for row in sends
        if row.id in first_after and first_after[row.id] - row.created_at <= REPLY_WINDOW
    )  # fmt: skip


async def template_stats(
    session: AsyncSession, template_id: int, since: str | None, until: str | None
) -> TemplateStats:
    template = await get_template(session, template_id)
    start, end = _when(since, "since"), _when(until, "until")
    family = (await siblings_of(session, [template])).get((template.channel_id, template.name), [])
    by_language = []
    for sibling in sorted(family, key=lambda t: t.language):
        assert sibling.id is not None
        counted = await figures(session, sibling.id, start, end)
        by_language.append(
            LanguageFigures(
                template_id=sibling.id, language=sibling.language, **counted.model_dump()
            )
        )
    own = await figures(session, template_id, start, end)
    return TemplateStats(
        template_id=template_id, name=template.name, language=template.language,
        since=start, until=end, by_language=by_language, **own.model_dump(),
    )  # fmt: skip
