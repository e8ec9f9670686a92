"""Writing events: in the same transaction as the change, published to Redis after the commit.

The events table is the record (a browser that reconnects replays from it); Redis Pub/Sub only
carries each event live to the web processes.

**Numbers in commit order, without serializing transactions.** `record_event` only keeps the
event in the session (`session.info`); nothing is written and no lock is taken while the
transaction does its work. Right before the transaction commits (a `before_commit` hook on every
session, so no commit path can skip it), the session flushes its own changes, then takes the
events' advisory lock (PostgreSQL, transaction-scoped), appends all its events in one multi-row
insert and commits; the commit releases the lock. So the lock is held for the append and the
commit only, never while a transaction reads, waits on a row or calls out.

Why a client resuming from `seq` never misses an event that commits late: every row of `events`
is inserted under that lock, so `seq` values (a sequence, taken by the insert) are handed out in
the order the lock is taken, and a transaction only gets the lock once the previous holder has
committed or rolled back — PostgreSQL makes a commit visible before it releases the
transaction's locks. Hence, whenever `seq` = n is visible, every smaller number is either
visible already or will never be (its transaction rolled back): the visible log is always a
gap-free prefix up to its holes from rollbacks, and "everything after n" read later is exactly
what was added since. No row lock is ever awaited under the events' lock (the transaction's own
writes were flushed before it, and the events table has no foreign or unique keys), so it cannot
take part in a deadlock. SQLite has one writer at a time (`BEGIN IMMEDIATE`), which gives the
same order without a lock.

Events recorded inside a savepoint that is rolled back are forgotten with it, and a transaction
that ends without committing forgets all of its own.
"""

from __future__ import annotations

import json
import weakref
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import event as sa_event
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.realtime.models import Event

log = get_logger(__name__)

EVENTS_CHANNEL = "switchboard:events"
# Held from the append of a transaction's events until its commit (see the module's docstring).
EVENTS_LOCK_KEY = 0x5B_0A_2E
_EVENTS_LOCK_SQL = f"SELECT pg_advisory_xact_lock({EVENTS_LOCK_KEY})"
_EVENTS_LOCK = text(_EVENTS_LOCK_SQL)
_PENDING = "switchboard.pending_events"  # recorded, not yet inserted
_APPENDED = "switchboard.appended_events"  # inserted by the commit under way
_COMMITTED = "switchboard.committed_events"  # committed, not yet published
_SAVEPOINTS = "switchboard.savepoint_marks"  # open savepoint -> how many were pending at its start


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
    """Adds the event to the session's transaction; it is numbered and stored when the
    transaction commits, and `commit_and_publish` sends it live after that.

    The returned event has no `seq` until the commit: number nothing by it before then.
    `recipient_id` makes it private to one agent (a notification): nobody else receives it."""
    event = Event(
        type=type_, conversation_id=conversation_id, team_id=team_id, assignee_id=assignee_id,
        recipient_id=recipient_id, data=data,
    )  # fmt: skip
    await record_events(session, [event])
    return event


async def record_events(session: AsyncSession, events: list[Event]) -> None:
    """Adds events made by the caller (not in the session), in this order, to the transaction:
    like `record_event`, they are numbered and stored together when it commits."""
    if not session.in_transaction():
        await session.connection()  # they belong to this transaction: a rollback forgets them
    session.info.setdefault(_PENDING, []).extend(events)


@sa_event.listens_for(Session, "before_commit")
def _append(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events stay pending for the real commit
    events: list[Event] = session.info.pop(_PENDING, [])
    if not events:
        return
    session.flush()  # the transaction's own writes (and row locks) first, outside the lock
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(_EVENTS_LOCK)
    now = utcnow()
    rows = [{c: getattr(e, c) for c in _COLUMNS} | {"at": now} for e in events]
    # One multi-row INSERT … RETURNING (SQLAlchemy's insertmanyvalues; the ORM's flush would
    # send one statement per row on SQLite). The rows are numbered in the order of the VALUES
    # list, from one sequence that nothing else draws from meanwhile (the lock, or SQLite's one
    # writer), so the returned numbers, sorted, are the events' in order. The events stay out of
    # the session: written once, never changed.
    returned = session.execute(_INSERT_EVENTS, rows)
    seqs = sorted(seq for seq in returned.scalars() if seq is not None)
    for event, seq in zip(events, seqs, strict=True):
        event.seq, event.at = seq, now
    session.info[_APPENDED] = events


_COLUMNS = ("type", "conversation_id", "team_id", "assignee_id", "recipient_id", "data")
# Built once: a statement's construction and cache key cost as much as running it (`db.bulk.prepared`).
_INSERT_EVENTS = insert(Event.__table__).returning(Event.__table__.c.seq)  # type: ignore[attr-defined]


@sa_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_APPENDED, []))


@sa_event.listens_for(Session, "after_transaction_create")
def _savepoint_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINTS, weakref.WeakKeyDictionary())
        marks[transaction] = len(session.info.get(_PENDING, []))


@sa_event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    mark = session.info.get(_SAVEPOINTS, {}).get(transaction) if transaction.nested else None
    if mark is not None:
        del session.info.setdefault(_PENDING, [])[mark:]


@sa_event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """A committed transaction moved its events on already; any other end (a rollback, a
    close) forgets them, so they can never be appended by a later transaction."""
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_APPENDED, None)


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


def take_pending(session: AsyncSession) -> list[Event]:
    """The events the session committed and has not published yet."""
    events: list[Event] = session.info.pop(_COMMITTED, [])
    return events


async def commit_and_publish(session: AsyncSession, redis: Redis) -> list[Event]:
    """Commits, then sends the transaction's events live. Reactions are not run here: the worker
    reads them from the events table (`realtime.reactions`), so no crash after this commit and no
    Redis outage can lose them; the live publish also wakes that consumer."""
    await session.commit()
    events = take_pending(session)
    await publish(redis, events)
    return events
