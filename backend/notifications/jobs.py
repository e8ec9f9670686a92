"""The worker's `notify` job: the notifications of one committed event (idempotent)."""

from __future__ import annotations

from typing import Any

from backend.core.context import AppContext
from backend.notifications.services import notify_from
from backend.realtime.events import commit_and_publish
from backend.realtime.models import Event

NOTIFY_JOB = "notify"


async def notify(ctx: dict[str, Any], seq: int) -> int:
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        event = await session.get(Event, seq)
        if event is None:
            return 0  # pruned: too old to be worth a notification
        made = await notify_from(session, event)
        await commit_and_publish(session, app.redis)
    return len(made)
