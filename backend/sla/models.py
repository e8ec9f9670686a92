"""SLA policies and the clocks they start on each conversation.

Business hours live in the bots' `team_schedules` table (backend.bots.models.TeamSchedule).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class ClockKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class ClockState(StrEnum):
    running = "running"
    warned = "warned"
    paused = "paused"
    met = "met"
    breached = "breached"
    cancelled = "cancelled"  # no policy applies any more, or resolved before any reply was due


OPEN_STATES = (ClockState.running.value, ClockState.warned.value, ClockState.paused.value)


class SlaPolicy(SQLModel, table=True):
    """Targets for one team, for one priority or (priority NULL) for every other priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("team_id", "priority", name="uq_sla_policies_team_priority"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(
        sa_column=Column(Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False)
    )
    priority: int | None = Field(default=None)
    first_response_seconds: int | None = Field(default=None)
    next_response_seconds: int | None = Field(default=None)
    resolution_seconds: int | None = Field(default=None)
    warn_at_fraction: float = Field(default=0.8)
    business_hours: bool = Field(default=False)
    pause_while_waiting_on_customer: bool = Field(default=False)
    escalate_raise_priority: bool = Field(default=False)
    escalate_move_to_team_id: int | None = Field(default=None, foreign_key="teams.id")
    escalate_notify_leads: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def target(self, kind: str) -> int | None:
        value: int | None = getattr(self, f"{kind}_seconds")
        return value


class SlaClock(SQLModel, table=True):
    """One target on one conversation; `cycle` counts next-response clocks (one per wait).

    `version` changes whenever the deadline moves or the clock stops, and is part of every timer
    job's id: a job scheduled for an older version finds itself stale and does nothing.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("conversation_id", "kind", "cycle", name="uq_sla_clocks_cycle"),
        Index("ix_sla_clocks_state_due", "state", "due_at"),
        Index("ix_sla_clocks_team_started", "team_id", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=24)
    cycle: int = Field(default=1)
    team_id: int | None = Field(default=None)
    policy_id: int | None = Field(default=None)
    agent_id: int | None = Field(default=None)  # who met it, or who held it when it breached
    state: str = Field(default=ClockState.running.value, max_length=16)
    target_seconds: int
    warn_at_fraction: float = Field(default=0.8)
    business_hours: bool = Field(default=False)
    started_at: datetime = Field(sa_type=UTCDateTime)
    warn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_seconds: float = Field(default=0.0)
    pauses: list[list[str | None]] = Field(default_factory=list, sa_column=Column(JSONColumn))
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SlaCursor(SQLModel, table=True):
    """The last event of a conversation that the clocks have taken into account."""

    __tablename__ = "sla_cursors"

    conversation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
        )
    )
    last_seq: int = Field(default=0)
