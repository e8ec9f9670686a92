"""Agents and teams: creation, sign-in, throttling of failed sign-ins."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from zxcvbn import zxcvbn

from backend.agents.models import Agent, AgentTeam, Presence, RevokedToken, Role, Team
from backend.agents.passwords import hash_password, verify_password
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.realtime.events import record_event
from backend.realtime.types import EventType


class AgentError(ServiceError):
    """A request about agents that cannot be carried out; the message says why, `field` which
    input it is about (the admin console shows it beside that field), `status` the HTTP answer."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(status, message)
        self.field = field


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
    capacity: int = 5
    active: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "teams": self.teams,
            "presence": self.presence,
            "capacity": self.capacity,
            "active": self.active,
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
    create_teams: bool = True,
) -> Agent:
    """A new agent. `create_teams` makes teams that do not exist yet (the CLI, the demo); the
    admin API passes False, so a typo is a 422 naming the team instead of a new empty queue."""
    _check_role(role)
    _check_capacity(capacity)
    check_password(password, user_inputs=(email, name))
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AgentError("the email is not an address", "email")
    # A name given twice is one membership.
    team_rows = await _teams_named(session, teams or [], create=create_teams)
    agent = Agent(
        email=email, name=name.strip()[:120] or email, role=role,
        password_hash=hash_password(password), capacity=capacity,
    )  # fmt: skip
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError:
        raise AgentError(f"an agent with the email {email} exists already", "email", 409) from None
    assert agent.id is not None
    for team in team_rows:
        assert team.id is not None
        session.add(AgentTeam(agent_id=agent.id, team_id=team.id))
    await session.flush()
    await _emit(session, EventType.agent_created, agent)
    return agent


# ------------------------------------------------------------------ the one password rule


MIN_PASSWORD_SCORE = 2  # zxcvbn: 0-1 fall to an online attack even when throttled


def check_password(
    password: str, field: str = "password", user_inputs: tuple[str, ...] = ()
) -> None:
    """The password policy, in one place: creating an agent, an admin's reset and the agent's
    own change all come through here. Length alone lets `12345678` and `password` through, so
    a strength estimate decides too: zxcvbn (Dropbox's estimator, the well-kept Python port)
    scores guessability from dictionaries, keyboard patterns, dates and repeats — and from the
    agent's own email and name."""
    if len(password) < 8:
        raise AgentError("must be at least 8 characters", field)
    if len(password) > 1024:
        raise AgentError("must be at most 1024 characters", field)
    if not password.strip():
        raise AgentError("must not be only spaces", field)
    estimate = zxcvbn(password[:100], user_inputs=[i for i in user_inputs if i])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        feedback = estimate.get("feedback") or {}
        hint = feedback.get("warning") or " ".join(feedback.get("suggestions") or [])
        raise AgentError(f"is too easy to guess{': ' + hint if hint else ''}", field)


async def set_password(
    session: AsyncSession, agent: Agent, password: str, field: str = "password",
    keep_session: str | None = None,
) -> None:  # fmt: skip
    """Sets a new password and ends every session of the agent (the caller commits and, to keep
    one signed in, signs them in again; `keep_session` names that session's token id, whose
    open socket stays)."""
    check_password(password, field, (agent.email, agent.name))
    agent.password_hash = hash_password(password)
    await end_sessions(session, agent, keep_session)


async def change_own_password(
    session: AsyncSession, agent_id: int, current: str, new: str, keep_session: str | None = None
) -> Agent:
    """An agent's own change: the current password is required, like at sign-in."""
    agent = await _get(session, agent_id)
    if not verify_password(agent.password_hash, current):
        raise AgentError("the current password is not right", "current", 403)
    if current == new:
        raise AgentError("the new password must differ from the current one", "new")
    await set_password(session, agent, new, field="new", keep_session=keep_session)
    return agent


async def set_password_by_link(
    session: AsyncSession, agent_id: int, epoch: int, password: str
) -> Agent:
    """A set-password link's password: only while the link is the agent's latest (same epoch) and
    they are active; setting it raises the epoch, so the link works once."""
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active or agent.session_epoch != epoch:
        raise AgentError("this link was used or replaced: ask an admin for a new one", "token", 410)
    await set_password(session, agent, password)
    return agent


async def end_sessions(session: AsyncSession, agent: Agent, keep: str | None = None) -> None:
    """Every session token and socket of the agent stops working at once: their tokens carry
    the old epoch, and `agent.sessions_ended` closes their sockets on every web process (but
    the socket of the session `keep`, the one that changed its own password and got a new
    token)."""
    agent.session_epoch += 1
    await session.flush()
    data: dict[str, Any] = {"agent": {"id": agent.id}, "epoch": agent.session_epoch}
    if keep:
        data["keep"] = keep
    await record_event(session, EventType.agent_sessions_ended, data)


# ------------------------------------------------------------------ editing agents


def _check_role(role: str) -> None:
    if role not in Role.__members__:
        raise AgentError(f"must be one of {', '.join(Role.__members__)}", "role")


def _check_capacity(capacity: int) -> None:
    if not 1 <= capacity <= 100:
        raise AgentError("must be between 1 and 100", "capacity")


async def _get(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise AgentError("no such agent", None, 404)
    return agent


async def _teams_named(session: AsyncSession, names: list[str], *, create: bool) -> list[Team]:
    found: list[Team] = []
    for raw in dict.fromkeys(name.strip() for name in names):
        if not raw:
            raise AgentError("a team name is empty", "teams")
        if create:
            found.append(await get_or_create_team(session, raw))
            continue
        team = (
            await session.execute(select(Team).where(col(Team.name) == raw))
        ).scalar_one_or_none()
        if team is None:
            raise AgentError(f"no team named {raw}", "teams")
        found.append(team)
    return found


async def _emit(session: AsyncSession, type_: EventType, agent: Agent) -> None:
    """Agent changes are events, so every open admin console shows them live."""
    await record_event(session, type_, {"agent": (await view(session, agent)).as_dict()})


async def update_agent(
    session: AsyncSession, agent_id: int, changes: dict[str, object], *, by_id: int
) -> Agent:
    """Applies a PATCH (`name`, `role`, `teams`, `capacity`, `active`); the caller commits.

    Deactivation refuses sign-in, ends every session and socket of the agent (`end_sessions`)
    and records `agent.deactivated`, to which the conversations domain reacts by handing their
    open conversations back to their queues with a note. An admin cannot deactivate or demote
    themselves: the desk would be left without anyone to undo it.
    """
    agent = await _get(session, agent_id)
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name:
            raise AgentError("must not be empty", "name")
        agent.name = name[:120]
    if "role" in changes:
        role = str(changes["role"])
        _check_role(role)
        if agent_id == by_id and role != agent.role:
            raise AgentError("you cannot change your own role", "role", 409)
        agent.role = role
    if "capacity" in changes:
        capacity = changes["capacity"]
        if not isinstance(capacity, int) or isinstance(capacity, bool):
            raise AgentError("must be a whole number", "capacity")
        _check_capacity(capacity)
        agent.capacity = capacity
    if "teams" in changes:
        names = changes["teams"]
        if not isinstance(names, list):
            raise AgentError("must be a list of team names", "teams")
        wanted = await _teams_named(session, [str(n) for n in names], create=False)
        await session.execute(delete(AgentTeam).where(col(AgentTeam.agent_id) == agent_id))
        for team in wanted:
            assert team.id is not None
            session.add(AgentTeam(agent_id=agent_id, team_id=team.id))
    deactivated = False
    if "active" in changes and bool(changes["active"]) != agent.active:
        if agent_id == by_id:
            raise AgentError("you cannot deactivate yourself", "active", 409)
        agent.active = bool(changes["active"])
        if not agent.active:
            deactivated = True
            agent.presence = Presence.offline.value
    await session.flush()
    if deactivated:
        await end_sessions(session, agent)
        await _emit(session, EventType.agent_deactivated, agent)
    else:
        await _emit(session, EventType.agent_updated, agent)
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
    return AgentView(
        agent.id, agent.email, agent.name, agent.role, teams, agent.presence, agent.capacity,
        agent.active,
    )  # fmt: skip


def _throttle_keys(email: str, source: str) -> tuple[str, str]:
    """(this account from this source, this source whatever the account)."""
    account = hashlib.sha256(f"{normalize_email(email)}\n{source}".encode()).hexdigest()[:32]
    origin = hashlib.sha256(source.encode()).hexdigest()[:32]
    return f"switchboard:login-failures:{account}", f"switchboard:login-failures-source:{origin}"


async def authenticate(
    session: AsyncSession, redis: Redis, email: str, password: str, limit: int,
    source: str = "unknown", source_limit: int = 30,
) -> Agent | None:  # fmt: skip
    """The agent when the password is right; None otherwise, the same way for unknown emails.

    Failures are counted per account *and source* (`limit` a minute) and per source
    (`source_limit` a minute, against password spraying across accounts). So an attacker's
    wrong passwords slow down the attacker, never the real agent signing in from elsewhere:
    counting per account alone let five wrong guesses lock the agent out everywhere."""
    account_key, source_key = _throttle_keys(email, source)
    account_failures, source_failures = await redis.mget([account_key, source_key])
    if int(account_failures or 0) >= limit or int(source_failures or 0) >= source_limit:
        raise TooManyAttempts
    agent = (
        await session.execute(
            select(Agent).where(
                col(Agent.email) == normalize_email(email), col(Agent.active).is_(True)
            )
        )
    ).scalar_one_or_none()
    if verify_password(agent.password_hash if agent else None, password) and agent:
        await redis.delete(account_key)
        return agent
    await count_failed_sign_in(redis, email, source)
    return None


async def count_failed_sign_in(redis: Redis, email: str, source: str) -> None:
    """A wrong password, or a wrong second-factor code after a right one."""
    async with redis.pipeline(transaction=True) as pipe:
        for key in _throttle_keys(email, source):
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)
        await pipe.execute()


async def revoke_token(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    await session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < utcnow()))
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
    await session.commit()


async def is_revoked(session: AsyncSession, jti: str | None) -> bool:
    return jti is not None and await session.get(RevokedToken, jti) is not None


async def list_agents(
    session: AsyncSession, *, include_inactive: bool = False, q: str | None = None
) -> list[AgentView]:
    """Active agents by name (all with `include_inactive`); `q` matches name or email."""
    query = select(Agent).order_by(col(Agent.name), col(Agent.id))
    if not include_inactive:
        query = query.where(col(Agent.active).is_(True))
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            func.lower(col(Agent.name)).like(pattern) | func.lower(col(Agent.email)).like(pattern)
        )
    agents = (await session.execute(query)).scalars()
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
        EventType.agent_presence,
        {"agent": {"id": agent.id, "name": agent.name, "presence": value}},
    )
    return agent
