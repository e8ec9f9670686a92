"""The worker's conversation jobs: auto-assign (drain one team, or every team of an agent who has
room again), the snooze timer (wake a chat at its time), and a deactivated agent's conversations
back to their queues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.conversations.assignment import drain_team, teams_of
from backend.conversations.lifecycle import wake
from backend.conversations.routing import hand_back_all, overdue_snoozes, wake_when_due
from backend.core.context import AppContext
from backend.realtime.events import commit_and_publish


async def drain_queue(ctx: dict[str, Any], team_id: int) -> int:
    """Auto-assign for one team; a Redis lock keeps two workers from draining it at once."""
    app: AppContext = ctx["app"]
    lock = app.redis.lock(f"switchboard:drain:{team_id}", timeout=30, blocking_timeout=30)
    async with lock, app.sessions() as session:
        assigned = await drain_team(session, team_id)
        await commit_and_publish(session, app.redis)
    return assigned


async def drain_agent(ctx: dict[str, Any], agent_id: int) -> int:
    """An agent came online or freed a slot: each of their teams may hand them a chat."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        team_ids = await teams_of(session, agent_id)
    return sum([await drain_queue(ctx, team_id) for team_id in team_ids])


WAKE_JOB = "wake_snoozed"


async def wake_snoozed(ctx: dict[str, Any], conversation_id: int, until: str) -> bool:
    """Deferred by arq to the snooze's time; does nothing for a snooze that moved or ended."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        woke = await wake_when_due(session, conversation_id, datetime.fromisoformat(until))
        await commit_and_publish(session, app.redis)
    return woke


async def snooze_sweep(ctx: dict[str, Any]) -> int:
    """Safety net, not the timer: wakes snoozes past their time whose deferred job Redis lost."""
    app: AppContext = ctx["app"]
    woken = 0
    async with app.sessions() as session:
        for conversation in await overdue_snoozes(session):
            woken += await wake(session, conversation, "timer")
        await commit_and_publish(session, app.redis)
    return woken


async def hand_back_conversations(ctx: dict[str, Any], agent_id: int) -> int:
    """After `agent.deactivated`: their open conversations back to their queues, with a note."""
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        moved = await hand_back_all(session, agent_id)
        await commit_and_publish(session, app.redis)
    return len(moved)
