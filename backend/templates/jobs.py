"""The worker side of the library: sync every channel's templates at start-up and every
TEMPLATE_SYNC_MINUTES (Meta's own webhooks keep statuses live in between)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from arq import Retry
from arq.connections import ArqRedis

from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.realtime.events import commit_and_publish
from backend.templates.services import TemplateError, channels_with_libraries, sync_channel

log = get_logger(__name__)

STARTUP_TRIES = 6
SYNC_JOB = "sync_all_templates"


async def request_sync_soon(queue: ArqRedis, delay_seconds: float = 3.0) -> None:
    """The web process asks for a sync once it serves (its default channel may be new, and the
    sandbox's Graph API is the web process itself). Best effort: the cron syncs anyway."""
    try:
        await queue.enqueue_job(SYNC_JOB, _job_id=f"templates-sync:{int(time.time())}",
                                _defer_by=timedelta(seconds=delay_seconds))  # fmt: skip
    except Exception as error:
        log.warning("template sync request failed", error=type(error).__name__)


async def sync_all_templates(ctx: dict[str, Any]) -> int:
    """Idempotent (a sync is a pull). At start-up the Graph API may be this very server, still
    starting: an unreachable API is retried a few times before waiting for the next run."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        channels = await channels_with_libraries(session)
    synced = unreachable = 0
    for channel in channels:
        async with app.sessions() as session:
            channel = await session.merge(channel)
            try:
                received, _ = await sync_channel(session, channel, app.settings, app.extras["http"])
                synced += received
            except TemplateError as error:
                unreachable += error.code is None
                log.warning("template sync failed", channel_id=channel.id, reason=error.detail)
            await commit_and_publish(session, app.redis)
    if unreachable and ctx.get("job_try", 1) < STARTUP_TRIES:
        raise Retry(defer=5 * ctx.get("job_try", 1))
    return synced
