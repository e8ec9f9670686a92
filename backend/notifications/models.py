"""One notification per agent and cause: the event that caused it names it (idempotent)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class NotificationKind(StrEnum):
    mention = "mention"
    assigned = "assigned"
    transferred = "transferred"
    sla_warning = "sla_warning"
    sla_breached = "sla_breached"
    snoozed_answered = "snoozed_answered"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # The reaction runs at least once: the same event never notifies the same agent twice.
        UniqueConstraint("agent_id", "source_seq", name="uq_notifications_agent_source"),
        Index("ix_notifications_agent_unread", "agent_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id")
    kind: str = Field(max_length=32)
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id")
    source_seq: int  # the event it was made from
    text: str = Field(max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
