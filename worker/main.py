"""The arq worker: sends messages, retries them, and runs the periodic safety nets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
from arq import cron
from arq.worker import Worker, create_worker
from redis.exceptions import RedisError

from backend.channels.ratelimit import ChannelRateLimiter
from backend.config import Settings
from backend.core.context import QUEUE_NAME, AppContext, arq_redis_settings
from backend.core.logging import configure_logging, get_logger
from backend.db.types import utcnow
from backend.integrations.jobs import build_webhook_client, webhook_sweep
from backend.metrics.jobs import instrumented
from backend.reactions import reactions
from backend.realtime.reactions import ReactionConsumer
from backend.sla.jobs import sla_reconcile
from backend.surveys.jobs import survey_sweep
from backend.templates.jobs import sync_all_templates
from worker.jobs import JOBS
from worker.sending import reconcile_outbox

log = get_logger(__name__)

HEARTBEAT_KEY = "switchboard:worker:heartbeat"


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Lets /ready and operators see that a worker is alive (a key that expires unless renewed)."""
    app: AppContext = ctx["app"]
    await app.redis.set(HEARTBEAT_KEY, utcnow().isoformat(), ex=30)


def build_http_client() -> httpx.AsyncClient:
    """One pooled client per worker: connections to the Graph API are reused across sends."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(20.0, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def worker_settings(settings: Settings) -> dict[str, Any]:
    async def startup(ctx: dict[str, Any]) -> None:
        app = AppContext.build(settings)
        app.extras["http"] = build_http_client()
        app.extras["webhook_http"] = build_webhook_client()
        app.extras["rate_limiter"] = ChannelRateLimiter(app.redis)
        ctx["app"] = app
        consumer = ReactionConsumer(app, reactions())
        consumer.start()
        app.extras["reactions"] = consumer
        await heartbeat(ctx)
        log.info("worker started")

    async def shutdown(ctx: dict[str, Any]) -> None:
        app: AppContext | None = ctx.get("app")
        if app:
            await app.extras["reactions"].stop()
            await app.extras["http"].aclose()
            await app.extras["webhook_http"].aclose()
            await app.close()

    assert settings.redis_url is not None
    return {
        "functions": [instrumented(job) for job in JOBS],
        "cron_jobs": [
            cron(heartbeat, second={0, 10, 20, 30, 40, 50}, run_at_startup=False),
            *CRON_JOBS,
            cron(
                sync_all_templates,
                minute=set(range(0, 60, settings.template_sync_minutes)),
                second={40},
                run_at_startup=True,
                unique=True,
            ),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": arq_redis_settings(settings.redis_url),
        "queue_name": QUEUE_NAME,
        "max_jobs": 20,
        "job_timeout": 60,
        "keep_result": 1,
        "max_tries": 1000,
        "handle_signals": True,
        "health_check_interval": 10,
    }


def settings_class(settings: Settings) -> type:
    """arq wants a class with attributes; this one is made from our validated settings."""
    return type("WorkerSettings", (), worker_settings(settings))


def run_worker(settings: Settings) -> None:
    """arq's worker ends when Redis goes away; this one waits and starts again, so an outage
    pauses the work (reactions wait in the event log, sends in the outbox) instead of ending it.
    A signal (SIGTERM, SIGINT) still stops it for good."""
    configure_logging(settings.effective_log_format, settings.log_level)
    while True:
        asyncio.set_event_loop(asyncio.new_event_loop())
        worker = create_worker(settings_class(settings))
        try:
            worker.run()
            return
        except (RedisError, OSError) as error:
            log.warning("worker lost Redis; starting again", error=type(error).__name__)
            _abandon(worker)
            time.sleep(1.0)


def _abandon(worker: Worker) -> None:
    """What arq's close could not do without Redis: stop our tasks, drop the old loop."""
    with contextlib.suppress(Exception):
        if worker.on_shutdown is not None and "app" in worker.ctx:
            worker.loop.run_until_complete(worker.on_shutdown(worker.ctx))
    with contextlib.suppress(Exception):
        worker.loop.close()


CRON_JOBS: list[Any] = [
    cron(reconcile_outbox, second={5, 15, 25, 35, 45, 55}, run_at_startup=True, unique=True),
    cron(survey_sweep, second={20, 50}, run_at_startup=False, unique=True),
    cron(sla_reconcile, second={2, 17, 32, 47}, run_at_startup=True, unique=True),
    cron(webhook_sweep, second=set(range(1, 60, 5)), run_at_startup=True, unique=True),
]
