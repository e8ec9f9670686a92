"""After commit: any event that can move a clock asks the worker to apply it (never inline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arq.connections import ArqRedis

from backend.core.hooks import on_events
from backend.sla.clocks import RELEVANT
from backend.sla.jobs import request_apply

if TYPE_CHECKING:
    from backend.realtime.models import Event


@on_events
async def clocks_follow_events(queue: ArqRedis, events: list[Event]) -> None:
    latest: dict[int, int] = {}
    for event in events:
        if event.type in RELEVANT and event.conversation_id is not None and event.seq is not None:
            latest[event.conversation_id] = max(latest.get(event.conversation_id, 0), event.seq)
    for conversation_id, seq in latest.items():
        await request_apply(queue, conversation_id, seq)
