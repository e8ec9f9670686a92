"""Bot flows (versioned YAML per channel), each conversation's place in its flow, consent changes
and team business hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class BotFlow(SQLModel, table=True):
    """One version of a channel's flow; exactly the active one runs (older ones are history)."""

    __tablename__ = "bot_flows"
    __table_args__ = (
        UniqueConstraint("channel_id", "version", name="uq_bot_flows_channel_version"),
        Index("ix_bot_flows_channel_active", "channel_id", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    version: int
    name: str = Field(default="", max_length=120)
    source: str = Field(sa_column=Column(Text, nullable=False))
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    active: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="agents.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BotState(SQLModel, table=True):
    """Where a conversation is in its flow: the node awaiting an answer and what was collected.

    `last_message_id` is the newest customer message the bot has processed, which makes the
    step job idempotent and keeps messages in order whatever order their jobs run in.
    """

    __tablename__ = "bot_states"

    conversation_id: int = Field(foreign_key="conversations.id", primary_key=True)
    flow_id: int = Field(foreign_key="bot_flows.id")
    node: str | None = Field(default=None, max_length=80)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    inputs: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn))
    topic: str | None = Field(default=None, max_length=120)
    misses: int = Field(default=0)
    language: str = Field(default="en", max_length=16)
    last_message_id: int = Field(default=0)
    handed_off_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    wait_notice_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentChange(SQLModel, table=True):
    """Every opt-out and opt-in, with when and how it happened (the audit trail consent needs)."""

    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_contact", "contact_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id")
    opted_out: bool
    source: str = Field(max_length=32)  # keyword | agent | api
    detail: str | None = Field(default=None, max_length=255)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TeamSchedule(SQLModel, table=True):
    """A team's business hours: a time zone, weekly opening intervals and holidays.

    `weekly` maps `mon`…`sun` to a list of `["09:00", "17:00"]` intervals; `holidays` is a list of
    ISO dates in the team's zone. A team without a schedule is always open.
    """

    __tablename__ = "team_schedules"

    team_id: int = Field(foreign_key="teams.id", primary_key=True)
    timezone: str = Field(default="UTC", max_length=64)
    weekly: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
