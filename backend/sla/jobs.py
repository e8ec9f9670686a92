"""The worker's SLA jobs: apply a conversation's events to its clocks, fire timers, and a safety
net for timers that Redis lost.

Timers are arq jobs deferred to the exact moment (`_defer_until`), with ids that name the clock's
version. arq cannot reliably cancel a deferred job, so nothing is cancelled: a clock that moved
has a new version, and the old job, when it runs, sees the mismatch and does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlmodel import select

from backend.agents.models import Team
from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.metrics.shared import count
from backend.realtime.events import commit_and_publish
from backend.sla.clocks import (
    Changes,
    Timer,
    apply_pending,
    fire,
    overdue_timers,
)
from backend.sla.models import SlaClock

log = get_logger(__name__)

APPLY_JOB = "sla_apply"
TIMER_JOB = "sla_timer"


def _lock(app: AppContext, conversation_id: int) -> Any:
    """One writer per conversation's clocks at a time, across workers."""
    return app.redis.lock(f"switchboard:sla:{conversation_id}", timeout=30, blocking_timeout=30)


async def request_apply(queue: ArqRedis, conversation_id: int, seq: int) -> None:
    try:
        await queue.enqueue_job(
            APPLY_JOB, conversation_id, _job_id=f"sla-apply:{conversation_id}:{seq}"
        )
    except Exception as error:
        log.warning("sla apply request failed", conversation_id=conversation_id, error=type(error).__name__)  # fmt: skip


async def schedule(queue: ArqRedis, timers: list[Timer], suffix: str = "") -> None:
    """Enqueues each timer for its moment; an id already queued is kept (arq drops the copy)."""
    for timer in timers:
        try:
            await queue.enqueue_job(
                TIMER_JOB, timer.clock_id, timer.version, timer.point,
                _job_id=timer.job_id + suffix, _defer_until=timer.at,
            )  # fmt: skip
        except Exception as error:
            log.warning("sla timer not scheduled", job_id=timer.job_id, error=type(error).__name__)


async def _count_breaches(app: AppContext, changes: Changes, session_names: dict[int, str]) -> None:
    for clock in changes.breached:
        team = session_names.get(clock.team_id or 0, "none")
        await count(app.redis, "switchboard_sla_breaches", {"team": team, "kind": clock.kind})


async def _team_names(app: AppContext) -> dict[int, str]:
    async with app.sessions() as session:
        return {t.id or 0: t.name for t in (await session.execute(select(Team))).scalars()}


async def sla_apply(ctx: dict[str, Any], conversation_id: int) -> int:
    """Brings one conversation's clocks up to date with its events; returns clocks changed."""
    app: AppContext = ctx["app"]
    async with _lock(app, conversation_id), app.sessions() as session:
        changes = await apply_pending(session, conversation_id)
        await commit_and_publish(session, app.redis)
    await schedule(app.queue, changes.timers)
    if changes.breached:
        await _count_breaches(app, changes, await _team_names(app))
    return len(changes.touched)


async def sla_timer(ctx: dict[str, Any], clock_id: int, version: int, point: str) -> str:
    """A clock's warning point or deadline: warn, breach and escalate, or nothing if it moved."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        clock = await session.get(SlaClock, clock_id)
        conversation_id = clock.conversation_id if clock else None
    if conversation_id is None:
        await count(app.redis, "switchboard_sla_timers", {"outcome": "stale"})
        return "stale"
    async with _lock(app, conversation_id), app.sessions() as session:
        fired = await fire(session, clock_id, version, point)
        await commit_and_publish(session, app.redis)
    await count(app.redis, "switchboard_sla_timers", {"outcome": fired.outcome})
    if fired.outcome == "early":
        await schedule(app.queue, fired.changes.timers, suffix=f":early:{utcnow().timestamp():.3f}")
        return fired.outcome
    await schedule(app.queue, fired.changes.timers)
    if fired.outcome == "warned":
        names = await _team_names(app)
        for clock in fired.changes.touched.values():
            team = names.get(clock.team_id or 0, "none")
            await count(app.redis, "switchboard_sla_warnings", {"team": team, "kind": clock.kind})
    elif fired.outcome == "breached":
        await _count_breaches(app, fired.changes, await _team_names(app))
    return fired.outcome


async def sla_reconcile(ctx: dict[str, Any]) -> int:
    """Safety net for deferred timers that Redis lost: re-enqueues those whose moment passed
    unnoticed. (Events always reach the clocks: `sla_apply` is a reaction read from the log.)"""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        timers = await overdue_timers(session, utcnow(), grace=timedelta(seconds=5))
    await schedule(app.queue, timers)
    if timers:
        log.info("sla reconciled", timers=len(timers))
    return len(timers)
