"""Worker-side recording: every job's delay and duration and failures, and send outcomes."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry
from redis.asyncio import Redis

from backend.metrics.shared import count, observe

JobFunction = Callable[..., Awaitable[Any]]


def instrumented(function: JobFunction) -> JobFunction:
    """Wraps a job: how late it started (for SLA timers: how far past their moment), how long it
    ran, and whether it raised. The wrapper keeps the name arq registers the job under."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        name = function.__name__
        started = time.time()
        # An urgent send is filed as due in the past (conversations.outbound): its delay counts from enqueueing.
        enqueued = ctx.get("enqueue_time")
        score = max(ctx.get("score") or 0, enqueued.timestamp() * 1000 if enqueued else 0)
        redis: Redis | None = getattr(ctx.get("app"), "redis", None)
        try:
            return await function(ctx, *args, **kwargs)
        except Retry:
            raise
        except Exception:
            if redis is not None:
                await count(redis, "switchboard_jobs_failed", {"job": name})
            raise
        finally:
            if redis is not None:
                if score:
                    delay = max(0.0, started - score / 1000)
                    await observe(redis, "switchboard_job_delay_seconds", {"job": name}, delay)
                duration = time.time() - started
                await observe(redis, "switchboard_job_duration_seconds", {"job": name}, duration)

    return run


async def record_send(redis: Redis, outcome: str, code: int | None) -> None:
    """One send attempt's outcome: sent, retrying, failed or dead, with the provider's code."""
    await count(
        redis, "switchboard_send_outcomes", {"outcome": outcome, "code": str(code or "none")}
    )
