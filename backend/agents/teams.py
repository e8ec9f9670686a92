"""Teams as queues: what the inbox's left pane and the lead's wallboard count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, patch
from litestar.exceptions import NotFoundException
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent, context_of, require_role
from backend.agents.models import Agent, AgentTeam, Presence, Role, Team
from backend.conversations.models import Conversation, ConversationStatus
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish, record_event


async def queue_figures(session: AsyncSession) -> list[dict[str, Any]]:
    teams = list((await session.execute(select(Team).order_by(col(Team.name)))).scalars())
    by_status = await session.execute(
        select(
            col(Conversation.team_id),
            col(Conversation.status),
            func.count(),
            func.min(col(Conversation.queued_at)),
        )
        .where(
            col(Conversation.status).in_(
                [ConversationStatus.queued.value, ConversationStatus.assigned.value]
            )
        )
        .group_by(col(Conversation.team_id), col(Conversation.status))
    )
    counts: dict[tuple[int | None, str], tuple[int, datetime | None]] = {
        (team_id, status): (count, oldest) for team_id, status, count, oldest in by_status.all()
    }
    online = dict(
        (
            await session.execute(
                select(col(AgentTeam.team_id), func.count())
                .join(Agent, col(Agent.id) == col(AgentTeam.agent_id))
                .where(col(Agent.presence) == Presence.online.value, col(Agent.active).is_(True))
                .group_by(col(AgentTeam.team_id))
            )
        ).all()
    )
    now = utcnow()
    items = []
    for team in teams:
        queued, oldest = counts.get((team.id, ConversationStatus.queued.value), (0, None))
        assigned, _ = counts.get((team.id, ConversationStatus.assigned.value), (0, None))
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        items.append({
            "id": team.id, "name": team.name, "queued": queued, "assigned": assigned,
            "oldest_wait_seconds": round((now - oldest).total_seconds()) if oldest else 0,
            "agents_online": online.get(team.id or 0, 0), "auto_assign": team.auto_assign,
        })  # fmt: skip
    return items


@get("/api/v1/teams", tags=["agents"])
async def list_teams(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession
) -> dict[str, list[dict[str, Any]]]:
    return {"items": await queue_figures(db_session)}


class TeamPatch(BaseModel):
    auto_assign: bool | None = None


@patch("/api/v1/teams/{team_id:int}", tags=["agents"], guards=[require_role(Role.lead, Role.admin)])
async def update_team(
    request: Request[CurrentAgent, Any, Any],
    db_session: AsyncSession,
    team_id: int,
    data: TeamPatch,
) -> dict[str, Any]:
    team = await db_session.get(Team, team_id)
    if team is None:
        raise NotFoundException("no such team")
    if data.auto_assign is not None and data.auto_assign != team.auto_assign:
        team.auto_assign = data.auto_assign
        await record_event(db_session, "team.updated", {"team": _team_json(team)}, team_id=team.id)
    await commit_and_publish(db_session, context_of(request).redis)
    return _team_json(team)


def _team_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "auto_assign": team.auto_assign}
