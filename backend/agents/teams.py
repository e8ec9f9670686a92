"""Teams as queues: what the inbox's left pane and the lead's wallboard count; the teams API
(create, rename, members, auto-assign). Business hours: `backend.agents.hours`, stored and
served at `/api/v1/teams/{id}/hours` by the bots domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, patch, post, put
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from pydantic import BaseModel, Field
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Agent, AgentTeam, Presence, Role, Team
from backend.agents.services import AgentError
from backend.audit.changes import config_changed
from backend.conversations.models import Conversation, ConversationStatus
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish


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


class TeamBody(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    auto_assign: bool = False


class TeamPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    auto_assign: bool | None = None


class MembersBody(BaseModel):
    agent_ids: list[int] = Field(max_length=1000)


def team_error(error: AgentError) -> ClientException:
    extra = [{"key": error.field, "message": str(error)}] if error.field else None
    detail = f"{error.field}: {error}" if error.field else str(error)
    return ClientException(detail, status_code=error.status, extra=extra)


async def _named_free(session: AsyncSession, name: str, team_id: int | None = None) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise AgentError("must not be empty", "name")
    taken = (
        await session.execute(select(Team).where(func.lower(col(Team.name)) == clean.lower()))
    ).scalar_one_or_none()
    if taken is not None and taken.id != team_id:
        raise AgentError(f"a team named {taken.name} exists already", "name", 409)
    return clean


async def members(session: AsyncSession, team_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Agent).join(AgentTeam, col(AgentTeam.agent_id) == col(Agent.id))
        .where(col(AgentTeam.team_id) == team_id).order_by(col(Agent.name))
    )  # fmt: skip
    return [
        {"id": a.id, "name": a.name, "role": a.role, "active": a.active, "presence": a.presence}
        for a in rows.scalars()
    ]


async def team_view(session: AsyncSession, team: Team) -> dict[str, Any]:
    assert team.id is not None
    return {**_team_json(team), "members": await members(session, team.id)}


async def create_team(
    session: AsyncSession, name: str, auto_assign: bool = False, *, by: Any = None
) -> Team:
    """A new, empty queue (audited, `team.created`); the caller commits."""
    team = Team(name=await _named_free(session, name), auto_assign=auto_assign)
    session.add(team)
    await session.flush()
    await config_changed(
        session, "team.created", by=by, target_id=team.id, after=_team_json(team), team_id=team.id
    )
    return team


async def change_team(
    session: AsyncSession, team_id: int, changes: dict[str, Any], *, protected: str,
    by: Any = None,
) -> Team:  # fmt: skip
    """Rename (not the default channel's team, which WHATSAPP_DEFAULT_TEAM names: a rename
    would be undone at the next start) or switch auto-assign; the caller commits."""
    team = await session.get(Team, team_id)
    if team is None:
        raise AgentError("no such team", None, 404)
    changed, before = False, _team_json(team)
    if changes.get("name") is not None:
        name = await _named_free(session, str(changes["name"]), team_id)
        if name != team.name:
            if team.name == protected:
                raise AgentError(
                    f"{team.name} is the default channel's team (WHATSAPP_DEFAULT_TEAM): "
                    "change that variable instead", "name", 409,
                )  # fmt: skip
            team.name, changed = name, True
    if changes.get("auto_assign") is not None and changes["auto_assign"] != team.auto_assign:
        team.auto_assign, changed = bool(changes["auto_assign"]), True
    if changed:
        await session.flush()
        await config_changed(session, "team.updated", by=by, target_id=team_id, before=before,
                             after=_team_json(team), team_id=team_id)  # fmt: skip
    return team


async def set_members(
    session: AsyncSession, team_id: int, agent_ids: list[int], *, by: Any = None
) -> Team:
    """The team's members become exactly these agents (audited as `team.members_changed`, seen
    live as `team.updated`); the caller commits."""
    team = await session.get(Team, team_id)
    if team is None:
        raise AgentError("no such team", None, 404)
    wanted = set(agent_ids)
    known = set(
        (await session.execute(select(col(Agent.id)).where(col(Agent.id).in_(wanted)))).scalars()
    )
    if missing := sorted(wanted - known):
        raise AgentError(f"no agent with id {missing[0]}", "agent_ids")
    current = set(
        (
            await session.execute(
                select(col(AgentTeam.agent_id)).where(col(AgentTeam.team_id) == team_id)
            )
        ).scalars()
    )
    if gone := current - wanted:
        await session.execute(
            delete(AgentTeam).where(
                col(AgentTeam.team_id) == team_id, col(AgentTeam.agent_id).in_(gone)
            )
        )
    for agent_id in sorted(wanted - current):
        session.add(AgentTeam(agent_id=agent_id, team_id=team_id))
    await session.flush()
    await config_changed(
        session, "team.members_changed", by=by, target_id=team_id,
        before={"members": sorted(current)}, after={"members": sorted(wanted)},
        event="team.updated", data={"team": _team_json(team), "members": sorted(wanted)},
        team_id=team_id,
    )  # fmt: skip
    return team


def _may_manage(agent: CurrentAgent, team_id: int) -> None:
    """Admins manage every team; a lead the teams they belong to."""
    if agent.role != Role.admin.value and team_id not in agent.team_ids:
        raise PermissionDeniedException("a lead manages only their own teams")


@get("/api/v1/teams/{team_id:int}", tags=["agents"])
async def get_team(db_session: AsyncSession, team_id: int) -> dict[str, Any]:
    team = await db_session.get(Team, team_id)
    if team is None:
        raise NotFoundException("no such team")
    return await team_view(db_session, team)


@post("/api/v1/teams", tags=["agents"], guards=[require_role(Role.admin)], status_code=201)
async def new_team(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, data: TeamBody
) -> dict[str, Any]:
    try:
        team = await create_team(db_session, data.name, data.auto_assign, by=request.user)
    except AgentError as error:
        raise team_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return await team_view(db_session, team)


@patch("/api/v1/teams/{team_id:int}", tags=["agents"], guards=[require_role(Role.lead, Role.admin)])
async def update_team(
    request: Request[CurrentAgent, Any, Any],
    db_session: AsyncSession,
    team_id: int,
    data: TeamPatch,
) -> dict[str, Any]:
    """`name` (admins), `auto_assign` (admins, and leads of the team)."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None and request.user.role != Role.admin.value:
        raise PermissionDeniedException("only an admin renames a team")
    if changes.get("auto_assign") is not None:
        _may_manage(request.user, team_id)
    try:
        team = await change_team(
            db_session, team_id, changes,
            protected=context_of(request).settings.whatsapp_default_team, by=request.user,
        )  # fmt: skip
    except AgentError as error:
        raise team_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return await team_view(db_session, team)


@put(
    "/api/v1/teams/{team_id:int}/members", tags=["agents"],
    guards=[require_role(Role.lead, Role.admin)],
)  # fmt: skip
async def put_members(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, team_id: int,
    data: MembersBody,
) -> dict[str, Any]:  # fmt: skip
    _may_manage(request.user, team_id)
    try:
        team = await set_members(db_session, team_id, data.agent_ids, by=request.user)
    except AgentError as error:
        raise team_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return await team_view(db_session, team)


def _team_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "auto_assign": team.auto_assign}


TEAM_HANDLERS: list[Any] = [list_teams, get_team, new_team, update_team, put_members]
