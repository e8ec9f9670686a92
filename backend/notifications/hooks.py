"""Reaction: events that may notify an agent start the `notify` job (one per event)."""

from __future__ import annotations

from arq.connections import ArqRedis

from backend.core.hooks import on_events
from backend.notifications.jobs import NOTIFY_JOB
from backend.notifications.services import NOTIFYING
from backend.realtime.models import Event


def _may_notify(event: Event) -> bool:
    if event.type not in NOTIFYING:
        return False
    if event.type == "message.created":
        message = event.data.get("message") or {}
        return message.get("type") == "note" and bool(
            (message.get("payload") or {}).get("mentions")
        )
    return True


@on_events
async def notify_on_events(queue: ArqRedis, events: list[Event]) -> None:
    for event in events:
        if event.seq is not None and _may_notify(event):
            await queue.enqueue_job(NOTIFY_JOB, event.seq, _job_id=f"notify:{event.seq}")
