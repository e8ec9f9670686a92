"""The worker's auto-assign jobs: drain one team, or every team of an agent who has room again."""

from __future__ import annotations

from typing import Any

from backend.conversations.assignment import drain_team, teams_of
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
