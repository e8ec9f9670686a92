"""Billable messages by pricing category over a report's period, from Meta's own `pricing`.

Meta names each outbound message's category (service, utility, marketing, authentication, ...)
and whether it is billable on the message's statuses; ingest keeps them on the message. A lead
reads here what the period will cost before the invoice does: per category, billable and free
messages, in total and per day in the report's time zone. A message counts on the day it was
written, under its conversation's team when the report is of one team.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.conversations.models import Conversation, Direction, Message

if TYPE_CHECKING:
    from backend.sla.reports import Period


async def billing(session: AsyncSession, period: Period) -> dict[str, Any]:
    query = (
        select(Message.pricing_category, Message.billable, Message.created_at)
        .where(
            col(Message.direction) == Direction.outbound.value,
            col(Message.pricing_category).is_not(None),
            col(Message.created_at) >= period.start,
            col(Message.created_at) < period.end,
        )
    )  # fmt: skip
    if period.team_id is not None:
        query = query.join(
            Conversation, col(Conversation.id) == col(Message.conversation_id)
        ).where(col(Conversation.team_id) == period.team_id)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"billable": 0, "free": 0})
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for category, billable, created_at in (await session.execute(query)).all():
        kind = "billable" if billable else "free"
        totals[category][kind] += 1
        if billable:
            days[created_at.astimezone(period.zone).date().isoformat()][category] += 1
    first = period.start.astimezone(period.zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.zone).date()
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "billable": sum(t["billable"] for t in totals.values()),
        "free": sum(t["free"] for t in totals.values()),
        "by_category": [
            {"category": category, **counts} for category, counts in sorted(totals.items())
        ],
        "billable_by_day": [
            {"day": day.isoformat(), "by_category": dict(sorted(days[day.isoformat()].items()))}
            for day in every_day
        ],
    }
