"""Retention of the event log: events older than `EVENT_RETENTION_DAYS` are pruned.

The log is what sockets resume from and what reactions read, so pruning never passes the
slowest live reaction's cursor, and it records how far it went (`PRUNED`, a row of `event_cursors`):
a socket that asks to resume from before that point is closed with 4409 and reloads its state
instead of silently missing events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.realtime.models import Event, EventCursor
from backend.realtime.reactions import BASELINE

log = get_logger(__name__)

PRUNED = "!pruned"  # not a reaction: the highest seq deleted so far
CHUNK = 5000


async def pruned_through(session: AsyncSession) -> int:
    """Every event up to this seq may be gone; 0 when nothing was ever pruned."""
    value = await session.execute(select(EventCursor.seq).where(col(EventCursor.name) == PRUNED))
    return int(value.scalar() or 0)


async def prune_once(session: AsyncSession, days: int, chunk: int = CHUNK) -> int:
    """Deletes one chunk of expired events that every reaction has read; returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    # Reactions that moved within the retention period hold pruning back; one silent for longer
    # (removed, renamed, or failing for a month) does not keep the log forever.
    slowest = (
        await session.execute(
            select(func.min(EventCursor.seq)).where(
                col(EventCursor.name).not_in([PRUNED, BASELINE]),
                col(EventCursor.updated_at) >= cutoff,
            )
        )
    ).scalar()
    bound = select(col(Event.seq)).where(col(Event.at) < cutoff).order_by(col(Event.seq))
    if slowest is not None:
        bound = bound.where(col(Event.seq) <= slowest)
    seqs = list((await session.execute(bound.limit(chunk))).scalars())
    if not seqs:
        return 0
    horizon = max(seq for seq in seqs if seq is not None)
    await session.execute(delete(Event).where(col(Event.seq) <= horizon))
    moved = await session.execute(
        update(EventCursor)
        .where(col(EventCursor.name) == PRUNED, col(EventCursor.seq) < horizon)
        .values(seq=horizon, updated_at=utcnow())
    )
    if moved.rowcount == 0 and await pruned_through(session) < horizon:  # type: ignore[attr-defined]
        session.add(EventCursor(name=PRUNED, seq=horizon))
    await session.commit()
    return len(seqs)


async def prune_events(ctx: dict[str, Any]) -> int:
    """Cron job: prunes expired events in chunks, so no transaction holds the log for long."""
    app: AppContext = ctx["app"]
    total = 0
    while True:
        async with app.sessions() as session:
            done = await prune_once(session, app.settings.event_retention_days)
        total += done
        if done < CHUNK:
            break
    if total:
        log.info("events pruned", count=total, days=app.settings.event_retention_days)
    return total
