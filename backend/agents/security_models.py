"""What an agent's own account security keeps: their sessions, their second factor and its
recovery codes (issue 16; beside the agents' table, which stays the admin console's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from backend.core.secrets_box import EncryptedText
from backend.db.types import UTCDateTime, utcnow


class AgentSession(SQLModel, table=True):
    """One signed-in session (its token's id), listed to its agent and ended from the list."""

    __tablename__ = "agent_sessions"

    jti: str = Field(primary_key=True, max_length=64)
    agent_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    )
    epoch: int = Field(default=0)
    source: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TwoFactor(SQLModel, table=True):
    """An agent's TOTP seed: `pending` until a first code proves the app has it."""

    __tablename__ = "agent_two_factor"

    agent_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    )
    secret: str = Field(sa_column=Column(EncryptedText, nullable=False))  # encrypted at rest
    enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_counter: int | None = Field(default=None)  # the last time step used: no replay
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    """A one-time code for a lost phone, kept as its SHA-256 (the codes are random)."""

    __tablename__ = "agent_recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    )
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
