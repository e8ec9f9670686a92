"""After-commit: committed events ask the worker to fan out webhooks (only while any endpoint is
active). Only a shortcut: the worker's sweep fans out on its own every few seconds, so a hook
that never ran (a crash right after the commit, Redis away) delays deliveries and loses none."""

from __future__ import annotations

from arq.connections import ArqRedis

from backend.core.hooks import on_events
from backend.integrations.endpoints import ACTIVE_FLAG, PRIVATE_PREFIXES
from backend.integrations.jobs import FAN_OUT_JOB
from backend.realtime.models import Event


@on_events
async def fan_out_webhooks(queue: ArqRedis, events: list[Event]) -> None:
    deliverable = [e.seq for e in events if e.seq and not e.type.startswith(PRIVATE_PREFIXES)]
    if not deliverable or not await queue.exists(ACTIVE_FLAG):
        return
    await queue.enqueue_job(FAN_OUT_JOB, _job_id=f"whfan:{max(deliverable)}")
