"""The worker process: two arq workers on two queues, the reaction consumer, the safety nets.

Sends to customers (`send_message`, `mark_read`) have a queue and job slots of their own
(`SEND_QUEUE`), so an agent's reply never waits behind a backlog of background work (bot steps,
surveys, SLA, auto-assign) on `QUEUE_NAME`: after a 10,000-message webhook batch the reply still
leaves at once. Both workers share the process's database pool, Redis client and HTTP client.
Every job is registered on both queues, so a job that lands on the other queue (enqueued by an
older release) still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any, cast

import httpx
from arq import cron, func
from arq.typing import WorkerCoroutine
from arq.worker import Worker
from redis.exceptions import RedisError

from backend.channels.ratelimit import ChannelRateLimiter
from backend.config import Settings
from backend.conversations.governance import retention_sweep
from backend.conversations.jobs import snooze_sweep
from backend.core.context import MEDIA_QUEUE, QUEUE_NAME, SEND_QUEUE, AppContext, arq_redis_settings
from backend.core.logging import configure_logging, get_logger
from backend.db.types import utcnow
from backend.integrations.jobs import build_webhook_client, webhook_sweep
from backend.media.jobs import download_media, media_sweep
from backend.metrics.jobs import instrumented
from backend.reactions import reactions
from backend.realtime.reactions import ReactionConsumer
from backend.realtime.retention import prune_events
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


class Shared:
    """The process's one AppContext and reaction consumer, opened by the first arq worker to
    start and closed by the last to stop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: AppContext | None = None
        self.users = 0

    async def acquire(self, ctx: dict[str, Any]) -> None:
        if self.app is None:
            app = AppContext.build(self.settings)
            app.extras["http"] = build_http_client()
            app.extras["webhook_http"] = build_webhook_client()
            app.extras["rate_limiter"] = ChannelRateLimiter(app.redis)
            consumer = ReactionConsumer(app, reactions())
            consumer.start()
            app.extras["reactions"] = consumer
            self.app = app
            log.info("worker started")
        self.users += 1
        ctx["app"] = self.app
        await heartbeat(ctx)

    async def release(self, _ctx: dict[str, Any]) -> None:
        self.users -= 1
        if self.users <= 0:
            await self.close()

    async def close(self) -> None:
        app, self.app, self.users = self.app, None, 0
        if app is not None:
            with contextlib.suppress(Exception):
                await app.extras["reactions"].stop()
            await app.extras["http"].aclose()
            await app.extras["webhook_http"].aclose()
            with contextlib.suppress(Exception):
                await app.close()


def worker_settings(settings: Settings, shared: Shared | None = None) -> list[dict[str, Any]]:
    """arq's options for the process's three workers: sends first, background work, and media
    downloads on a queue of their own.

    A download streams up to 100 MB and may take minutes, so its job gets a long limit. arq keeps
    a job's "in progress" mark for the longest limit of its worker's functions, and a job whose
    worker died is retried only after that mark runs out: on a worker of their own, downloads'
    long limit never holds up the retry of a lost webhook delivery or bot step by a quarter hour.
    """
    shared = shared or Shared(settings)
    assert settings.redis_url is not None

    def registered(limits: dict[str, int]) -> list[Any]:
        return [
            func(cast(WorkerCoroutine, instrumented(job)), name=job.__name__,
                 timeout=limits.get(job.__name__))
            for job in JOBS
        ]  # fmt: skip

    common: dict[str, Any] = {
        "functions": registered({}),
        "on_startup": shared.acquire,
        "on_shutdown": shared.release,
        "redis_settings": arq_redis_settings(settings.redis_url),
        "max_jobs": 20,
        "job_timeout": 60,
        "keep_result": 1,
        "max_tries": 1000,
        "handle_signals": True,
        "health_check_interval": 10,
    }
    sends = {**common, "queue_name": SEND_QUEUE, "cron_jobs": SEND_CRON_JOBS}
    template_sync = cron(
        sync_all_templates, minute=set(range(0, 60, settings.template_sync_minutes)),
        second={40}, run_at_startup=True, unique=True,
    )  # fmt: skip
    background = {
        **common, "queue_name": QUEUE_NAME, "cron_jobs": [*BACKGROUND_CRON_JOBS, template_sync],
    }  # fmt: skip
    # The job enforces MEDIA_DOWNLOAD_TIMEOUT_SECONDS itself (a visible, counted failure); arq's
    # limit is only the backstop above it. Few at once: each holds a spool file and a connection.
    backstop = {download_media.__name__: settings.media_download_timeout_seconds + 60}
    media = {**common, "queue_name": MEDIA_QUEUE, "functions": registered(backstop),
             "max_jobs": 8, "cron_jobs": []}  # fmt: skip
    return [sends, background, media]


def settings_class(settings: Settings, queue_name: str = QUEUE_NAME) -> type:
    """arq's CLI wants a class with attributes: one per queue (see worker/settings.py)."""
    for options in worker_settings(settings):
        if options["queue_name"] == queue_name:
            return type("WorkerSettings", (), options)
    raise ValueError(f"no worker for queue {queue_name}")


async def run_together(workers: list[Worker]) -> None:
    """Runs the workers until a signal; an error (Redis gone) ends them all and propagates."""
    try:
        await asyncio.gather(*(worker.async_run() for worker in workers))
    except asyncio.CancelledError:
        pass  # a signal stopped them
    for worker in workers:
        await worker.close()


def _stop_all(workers: list[Worker], signum: signal.Signals, stopping: list[bool]) -> None:
    stopping.append(True)
    for worker in workers:
        worker.handle_sig(signum)


REDIS_PATIENCE_SECONDS = 300.0


def run_worker(settings: Settings) -> None:
    """arq's worker ends when Redis goes away; this one waits and starts again, so an outage
    pauses the work (reactions wait in the event log, sends in the outbox) instead of ending it.
    A signal (SIGTERM, SIGINT) still stops it for good, and so do five minutes without Redis
    (exit status 1: the supervisor, not an endless loop, decides what happens next)."""
    configure_logging(settings.effective_log_format, settings.log_level)
    failing_since: float | None = None
    stopping: list[bool] = []  # set by a signal: whatever happens next, do not start again
    while True:
        began = time.monotonic()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        shared = Shared(settings)
        workers = [
            Worker(**{**options, "handle_signals": False})
            for options in worker_settings(settings, shared)
        ]
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _stop_all, workers, signum, stopping)
        try:
            loop.run_until_complete(run_together(workers))
            return
        except (RedisError, OSError) as error:
            with contextlib.suppress(Exception):
                loop.run_until_complete(shared.close())
            with contextlib.suppress(Exception):
                loop.close()
            if stopping:  # asked to stop, and Redis went first (`switchboard run` stops both)
                return
            now = time.monotonic()
            if failing_since is None or now - began > 30:
                failing_since = began  # it had been running: a new outage starts now
            if now - failing_since > REDIS_PATIENCE_SECONDS:
                log.error("no Redis for five minutes; the worker stops", error=type(error).__name__)
                raise SystemExit(1) from None
            log.warning("worker lost Redis; starting again", error=type(error).__name__)
            time.sleep(1.0)


SEND_CRON_JOBS: list[Any] = [
    cron(heartbeat, second={0, 10, 20, 30, 40, 50}, run_at_startup=False),
    cron(reconcile_outbox, second={5, 15, 25, 35, 45, 55}, run_at_startup=True, unique=True),
]
BACKGROUND_CRON_JOBS: list[Any] = [
    cron(survey_sweep, second={20, 50}, run_at_startup=False, unique=True),
    cron(sla_reconcile, second={2, 17, 32, 47}, run_at_startup=True, unique=True),
    cron(webhook_sweep, second=set(range(1, 60, 5)), run_at_startup=True, unique=True),
    cron(prune_events, minute={7, 37}, second=0, run_at_startup=True, unique=True),
    cron(retention_sweep, hour={3}, minute=23, second=0, run_at_startup=True, unique=True),
    cron(media_sweep, second={8, 38}, run_at_startup=True, unique=True),
    cron(snooze_sweep, minute=set(range(0, 60, 5)), second=40, run_at_startup=True, unique=True),
]
