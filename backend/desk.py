"""What the admin console warns about: the mistakes that leave customers waiting for nobody.

A read model across domains (channels, teams, presence, business hours), so it lives beside the
assembly rather than inside one domain: a channel whose default team has no active agent, and a
queue that is open by its business hours while none of its agents is online.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import get
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import require_role
from backend.agents.models import Agent, AgentTeam, Presence, Role, Team
from backend.bots.models import TeamSchedule
from backend.bots.services import stored_hours
from backend.channels.services import desk_warnings
from backend.db.types import utcnow


async def unstaffed_open_queues(session: AsyncSession, now: datetime) -> list[str]:
    """Teams with business hours that are open now while no member is online."""
    online = dict(
        (
            await session.execute(
                select(col(AgentTeam.team_id), func.count())
                .join(Agent, col(Agent.id) == col(AgentTeam.agent_id))
                .where(col(Agent.active).is_(True), col(Agent.presence) == Presence.online.value)
                .group_by(col(AgentTeam.team_id))
            )
        ).all()
    )
    rows = await session.execute(
        select(Team, TeamSchedule).join(TeamSchedule, col(TeamSchedule.team_id) == col(Team.id))
        .order_by(col(Team.name))
    )  # fmt: skip
    warnings = []
    for team, schedule in rows.tuples():
        hours = stored_hours(schedule)
        if hours is not None and hours.is_open(now) and not online.get(team.id or 0, 0):
            warnings.append(
                f"team {team.name} is open now by its business hours, but none of its agents "
                "is online"
            )
    return warnings


async def warnings(session: AsyncSession, now: datetime | None = None) -> list[str]:
    return [*await desk_warnings(session), *await unstaffed_open_queues(session, now or utcnow())]


@get("/api/v1/admin/warnings", tags=["admin"], guards=[require_role(Role.lead, Role.admin)])
async def list_warnings(db_session: AsyncSession) -> dict[str, Any]:
    """`{"items": [text…]}`: what the admin console shows at its top."""
    return {"items": await warnings(db_session)}
