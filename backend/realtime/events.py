"""Writing events: in the same transaction as the change, published to Redis after the commit.

The events table is the record (a browser that reconnects replays from it); Redis Pub/Sub only
carries each event live to the web processes. On PostgreSQL a transaction-scoped advisory lock is
taken just before the insert, so sequence numbers are handed out in commit order and a client
resuming from `seq` can never miss a number that commits late.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.logging import get_logger
from backend.db.engine import serialize_writes
from backend.realtime.models import Event

log = get_logger(__name__)

EVENTS_CHANNEL = "switchboard:events"
_PENDING = "switchboard.pending_events"


def envelope(event: Event) -> dict[str, Any]:
    at: datetime = event.at
    return {
        "seq": event.seq,
        "type": event.type,
        "conversation_id": event.conversation_id,
        "at": at.isoformat(),
        "data": event.data,
    }


async def record_event(
    session: AsyncSession,
    type_: str,
    data: dict[str, Any],
    *,
    conversation_id: int | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    recipient_id: int | None = None,
) -> Event:
    """Adds the event to the session's transaction; `commit_and_publish` sends it after commit.

    `recipient_id` makes it private to one agent (a notification): nobody else receives it."""
    event = Event(
        type=type_, conversation_id=conversation_id, team_id=team_id, assignee_id=assignee_id,
        recipient_id=recipient_id, data=data,
    )  # fmt: skip
    await record_events(session, [event])
    return event


async def record_events(session: AsyncSession, events: list[Event]) -> None:
    """Adds events made by the caller (not yet in the session) in one statement, in this order:
    a webhook batch's events are written together, not one flush each."""
    await serialize_writes(session)
    if len(events) > 1:
        await _insert_together(session, events)
    else:
        session.add_all(events)
        await session.flush()
    session.info.setdefault(_PENDING, []).extend(events)


async def _insert_together(session: AsyncSession, events: list[Event]) -> None:
    """One multi-row INSERT (the ORM's flush would send one per row on SQLite). The rows are
    numbered in the order of the VALUES list (one statement, numbers from one sequence, taken
    under the writers' lock), so the returned numbers, sorted, are the events' in order. The
    events stay outside the session: they are written once, never changed."""
    await session.flush()  # rows this transaction changed before come first
    rows = [{c: getattr(e, c) for c in _COLUMNS} for e in events]
    table = Event.__table__  # type: ignore[attr-defined]
    returned = await session.execute(insert(table).returning(table.c.seq), rows)
    seqs = sorted(seq for seq in returned.scalars() if seq is not None)
    for event, seq in zip(events, seqs, strict=True):
        event.seq = seq


_COLUMNS = ("type", "conversation_id", "team_id", "assignee_id", "recipient_id", "at", "data")


async def publish(redis: Redis, events: list[Event]) -> None:
    """Best effort: a lost publish is recovered by clients replaying from the events table."""
    if not events:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(EVENTS_CHANNEL, json.dumps(_routing(event) | envelope(event)))
            await pipe.execute()
    except Exception as error:
        log.warning("event publish failed", error=type(error).__name__, count=len(events))


def _routing(event: Event) -> dict[str, Any]:
    """Who may see it travels with the event, so web processes filter without a query."""
    return {
        "_team_id": event.team_id, "_assignee_id": event.assignee_id,
        "_recipient_id": event.recipient_id,
    }  # fmt: skip


def pending_mark(session: AsyncSession) -> int:
    """How many events the transaction holds so far; `drop_pending_since` forgets later ones."""
    return len(session.info.get(_PENDING, []))


def drop_pending_since(session: AsyncSession, mark: int) -> None:
    """After rolling back a savepoint: its events never committed, so they are never published."""
    del session.info.setdefault(_PENDING, [])[mark:]


def take_pending(session: AsyncSession) -> list[Event]:
    events: list[Event] = session.info.pop(_PENDING, [])
    return events


async def commit_and_publish(session: AsyncSession, redis: Redis) -> list[Event]:
    """Commits, then sends the transaction's events live. Reactions are not run here: the worker
    reads them from the events table (`realtime.reactions`), so no crash after this commit and no
    Redis outage can lose them; the live publish also wakes that consumer."""
    await session.commit()
    events = take_pending(session)
    await publish(redis, events)
    return events
