"""From the event log to deliveries: a cursor over `seq`, moved in the same transaction that
writes the deliveries of the events it passed.

Events commit in `seq` order (the writers' lock), so everything at or below the cursor has been
turned into deliveries exactly once (the unique (endpoint, event) pair makes a replay harmless),
and nothing above it is skipped. The after-commit hook only makes this run sooner; the worker also
runs it every few seconds, so an event committed by a web process that died before its hooks ran,
or while Redis was away, is delivered all the same.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.integrations.endpoints import CURSOR, matches
from backend.integrations.models import (
    DeliveryState,
    EndpointState,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.realtime.events import envelope
from backend.realtime.models import Event

FAN_OUT_BATCH = 500
_ROWS_PER_INSERT = 50  # 14 columns a row: well under SQLite's bound-parameter limit


def delivery_id() -> str:
    return "whd_" + secrets.token_hex(12)


async def fan_out(session: AsyncSession, limit: int = FAN_OUT_BATCH) -> tuple[list[int], bool]:
    """Writes the deliveries of the next events in the caller's transaction; returns the new
    deliveries' ids and whether more events wait.

    No explicit lock: events below the newest committed one are all committed (writers commit in
    `seq` order), the first write takes the writers' lock by itself, and a concurrent run can only
    try to insert the same deliveries, which the unique pair ignores. A run with nothing to do
    writes nothing, so the sweep every few seconds costs PostgreSQL's writers no lock."""
    cursor = await session.get(WebhookCursor, CURSOR)
    endpoints = list(
        (
            await session.execute(
                select(WebhookEndpoint).where(
                    col(WebhookEndpoint.state) == EndpointState.active.value
                )
            )
        ).scalars()
    )
    if cursor is None:
        return [], False  # no endpoint was ever made: nothing to deliver
    events = list(
        (
            await session.execute(
                select(Event)
                .where(col(Event.seq) > cursor.last_seq)
                .order_by(col(Event.seq))
                .limit(limit)
            )
        ).scalars()
    )
    if not events:
        return [], False
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in events:
        assert event.seq is not None
        for endpoint in endpoints:
            if event.seq > endpoint.start_after_seq and matches(endpoint.events, event.type):
                public_id = delivery_id()
                rows.append({
                    "public_id": public_id, "endpoint_id": endpoint.id, "event_seq": event.seq,
                    "event_type": event.type, "body": {**envelope(event), "id": public_id},
                    "state": DeliveryState.pending.value, "attempts": 0, "next_attempt_at": now,
                    "retry_from": now, "created_at": now, "updated_at": now,
                })  # fmt: skip
    new_ids: list[int] = []
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        result = await session.execute(
            insert(WebhookDelivery)
            .values(rows[start : start + _ROWS_PER_INSERT])
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_seq"])
            .returning(col(WebhookDelivery.id))
        )
        new_ids += [int(row_id) for (row_id,) in result if row_id is not None]
    last = events[-1].seq
    assert last is not None
    cursor.last_seq = last
    cursor.updated_at = now
    await session.flush()
    return new_ids, len(events) == limit
