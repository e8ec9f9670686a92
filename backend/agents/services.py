"""Agents and teams: creation, sign-in, throttling of failed sign-ins."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, AgentTeam, Presence, RevokedToken, Role, Team
from backend.agents.passwords import hash_password, verify_password
from backend.db.types import utcnow
from backend.realtime.events import record_event


class AgentError(Exception):
    """A request about agents that cannot be carried out; the message says why."""


class TooManyAttempts(Exception):
    """Sign-in for this email is throttled for the rest of the minute."""


@dataclass(frozen=True)
class AgentView:
    id: int
    email: str
    name: str
    role: str
    teams: list[str]
    presence: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "teams": self.teams,
            "presence": self.presence,
        }


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_or_create_team(session: AsyncSession, name: str) -> Team:
    team = (await session.execute(select(Team).where(col(Team.name) == name))).scalar_one_or_none()
    if team is None:
        team = Team(name=name)
        session.add(team)
        await session.flush()
    return team


async def create_agent(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str,
    role: str = Role.agent.value,
    teams: list[str] | None = None,
    capacity: int = 5,
) -> Agent:
    if role not in Role.__members__:
        raise AgentError(f"role must be one of {', '.join(Role.__members__)}")
    if len(password) < 8:
        raise AgentError("the password must be at least 8 characters")
    email = normalize_email(email)
    if "@" not in email:
        raise AgentError("the email is not an address")
    agent = Agent(
        email=email, name=name.strip() or email, role=role,
        password_hash=hash_password(password), capacity=capacity,
    )  # fmt: skip
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError:
        raise AgentError(f"an agent with the email {email} exists already") from None
    assert agent.id is not None
    for team_name in dict.fromkeys(teams or []):  # a name given twice is one membership
        team = await get_or_create_team(session, team_name)
        assert team.id is not None
        session.add(AgentTeam(agent_id=agent.id, team_id=team.id))
    await session.flush()
    return agent


async def active_member_counts(session: AsyncSession) -> dict[int, int]:
    """Active agents per team id (teams without any are absent)."""
    rows = await session.execute(
        select(col(AgentTeam.team_id), func.count())
        .join(Agent, col(Agent.id) == col(AgentTeam.agent_id))
        .where(col(Agent.active).is_(True))
        .group_by(col(AgentTeam.team_id))
    )
    return {team_id: count for team_id, count in rows.all()}


async def team_names(session: AsyncSession, agent_id: int) -> list[str]:
    rows = await session.execute(
        select(col(Team.name)).join(AgentTeam, col(AgentTeam.team_id) == col(Team.id))
        .where(col(AgentTeam.agent_id) == agent_id).order_by(Team.name)
    )  # fmt: skip
    return list(rows.scalars())


async def team_ids(session: AsyncSession, agent_id: int) -> list[int]:
    rows = await session.execute(
        select(col(AgentTeam.team_id)).where(col(AgentTeam.agent_id) == agent_id)
    )
    return list(rows.scalars())


async def view(session: AsyncSession, agent: Agent) -> AgentView:
    assert agent.id is not None
    teams = await team_names(session, agent.id)
    return AgentView(agent.id, agent.email, agent.name, agent.role, teams, agent.presence)


def _throttle_key(email: str) -> str:
    digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]
    return f"switchboard:login-failures:{digest}"


async def authenticate(
    session: AsyncSession, redis: Redis, email: str, password: str, limit: int
) -> Agent | None:
    """The agent when the password is right; None otherwise, the same way for unknown emails."""
    key = _throttle_key(email)
    failures = int(await redis.get(key) or 0)
    if failures >= limit:
        raise TooManyAttempts
    agent = (
        await session.execute(
            select(Agent).where(
                col(Agent.email) == normalize_email(email), col(Agent.active).is_(True)
            )
        )
    ).scalar_one_or_none()
    if verify_password(agent.password_hash if agent else None, password) and agent:
        await redis.delete(key)
        return agent
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 60, nx=True)
        await pipe.execute()
    return None


async def revoke_token(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    await session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < utcnow()))
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
    await session.commit()


async def is_revoked(session: AsyncSession, jti: str | None) -> bool:
    return jti is not None and await session.get(RevokedToken, jti) is not None


async def list_agents(session: AsyncSession) -> list[AgentView]:
    agents = (
        await session.execute(
            select(Agent).where(col(Agent.active).is_(True)).order_by(col(Agent.name))
        )
    ).scalars()
    return [await view(session, agent) for agent in agents]


async def set_presence(
    session: AsyncSession, agent_id: int, presence: str, only_from: set[str] | None = None
) -> Agent:
    """Changes presence (only from one of `only_from`, when given) and records `agent.presence`,
    which the wallboard shows and auto-assign reacts to. The caller commits."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise AgentError("no such agent")
    value = Presence(presence).value
    if agent.presence == value or (only_from is not None and agent.presence not in only_from):
        return agent
    agent.presence = value
    await session.flush()
    await record_event(
        session,
        "agent.presence",
        {"agent": {"id": agent.id, "name": agent.name, "presence": value}},
    )
    return agent
