"""Agents, their teams, and who belongs to which."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime, utcnow


class Role(StrEnum):
    agent = "agent"
    lead = "lead"
    admin = "admin"


class Presence(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True, index=True)
    auto_assign: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Agent(SQLModel, table=True):
    __tablename__ = "agents"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    role: str = Field(default=Role.agent.value, max_length=16)
    password_hash: str = Field(max_length=255)
    capacity: int = Field(default=5)
    presence: str = Field(default=Presence.offline.value, max_length=16)
    active: bool = Field(default=True)
    # Each session token carries the epoch it was signed in under; raising it (deactivation, a
    # password reset) ends every session and socket of the agent at once, on every web process.
    session_epoch: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgentTeam(SQLModel, table=True):
    __tablename__ = "agent_teams"

    agent_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    )
    team_id: int = Field(
        sa_column=Column(Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    )


class RevokedToken(SQLModel, table=True):
    """A signed-out session's token id: refused until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
