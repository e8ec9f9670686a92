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
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from backend.conversations.models import Direction, Message, MessageStatus
from backend.templates.models import Template, TemplateSend
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
    pricing: dict[str, int] = Field(
        default_factory=dict,
        description="sends by the cost category Meta's statuses named (`pricing.category`)",
    )


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


def _replied_in_time(row: Any) -> bool:
    return row.first_reply is not None and row.first_reply - row.created_at <= REPLY_WINDOW


def _count(rows: Sequence[Any]) -> Figures:
    failed: dict[str, int] = {}
    for row in rows:
        if row.status in FAILED:
            key = str(row.error_code) if row.error_code is not None else "unknown"
            failed[key] = failed.get(key, 0) + 1
    return Figures(
        sent=sum(row.status in SENT for row in rows),
        delivered=sum(row.status in DELIVERED for row in rows),
        read=sum(row.status in READ for row in rows),
        replied=sum(_replied_in_time(row) for row in rows),
        failed=failed,
        pending=sum(row.status not in SENT and row.status not in FAILED for row in rows),
        pricing=_by_pricing(rows),
    )


def _by_pricing(rows: Sequence[Any]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for row in rows:
        if row.pricing_category:
            counted[row.pricing_category] = counted.get(row.pricing_category, 0) + 1
    return counted


async def figures_by_template(
    session: AsyncSession, template_ids: list[int] | None, since: datetime | None,
    until: datetime | None,
) -> dict[int, Figures]:  # fmt: skip
    """One query for every send of the templates in the period, each with the time of the
    customer's first message after it (a correlated subquery on the conversation's messages)."""
    inbound = aliased(Message)
    first_reply = (
        select(func.min(inbound.created_at))
        .where(
            col(inbound.conversation_id) == col(Message.conversation_id),
            col(inbound.direction) == Direction.inbound.value,
            col(inbound.created_at) > col(TemplateSend.created_at),
        )
        .correlate(Message, TemplateSend)
        .scalar_subquery()
    )
    query = sa_select(
        col(TemplateSend.template_id), col(Message.status), col(Message.error_code),
        col(Message.pricing_category), col(TemplateSend.created_at), first_reply.label("first_reply"),
    ).join(TemplateSend, col(TemplateSend.message_id) == col(Message.id))  # fmt: skip
    if template_ids is not None:
        query = query.where(col(TemplateSend.template_id).in_(template_ids))
    if since is not None:
        query = query.where(col(TemplateSend.created_at) >= since)
    if until is not None:
        query = query.where(col(TemplateSend.created_at) < until)
    grouped: dict[int, list[Any]] = {}
    for row in (await session.execute(query)).all():
        grouped.setdefault(row.template_id, []).append(row)
    return {template_id: _count(rows) for template_id, rows in grouped.items()}


NOTHING = Figures(sent=0, delivered=0, read=0, replied=0, failed={}, pending=0)


async def template_stats(
    session: AsyncSession, template_id: int, since: str | None, until: str | None
) -> TemplateStats:
    template = await get_template(session, template_id)
    start, end = _when(since, "since"), _when(until, "until")
    family = (await siblings_of(session, [template])).get((template.channel_id, template.name), [])
    ids = [t.id for t in family if t.id is not None] or [template_id]
    counted = await figures_by_template(session, ids, start, end)
    by_language = [
        LanguageFigures(template_id=sibling.id, language=sibling.language,
                        **counted.get(sibling.id, NOTHING).model_dump())
        for sibling in sorted(family, key=lambda t: t.language)
        if sibling.id is not None
    ]  # fmt: skip
    own = counted.get(template_id, NOTHING)
    return TemplateStats(
        template_id=template_id, name=template.name, language=template.language,
        since=start, until=end, by_language=by_language, **own.model_dump(),
    )  # fmt: skip


class TemplateRow(Figures):
    template_id: int
    channel_id: int
    name: str
    language: str
    category: str
    status: str


class TemplateReport(BaseModel):
    since: datetime | None
    until: datetime | None
    items: list[TemplateRow] = Field(description="templates sent in the period, most sent first")


async def template_report(
    session: AsyncSession, since: str | None, until: str | None, channel_id: int | None
) -> TemplateReport:
    """The lead's table: every template that was sent in the period, with its figures."""
    start, end = _when(since, "since"), _when(until, "until")
    counted = await figures_by_template(session, None, start, end)
    rows = []
    for template_id, figures in counted.items():
        template = await session.get(Template, template_id)
        if template is None or (channel_id is not None and template.channel_id != channel_id):
            continue
        rows.append(TemplateRow(
            template_id=template_id, channel_id=template.channel_id, name=template.name,
            language=template.language, category=template.category, status=template.status,
            **figures.model_dump(),
        ))  # fmt: skip
    rows.sort(key=lambda r: (-(r.sent + sum(r.failed.values()) + r.pending), r.name, r.language))
    return TemplateReport(since=start, until=end, items=rows)
