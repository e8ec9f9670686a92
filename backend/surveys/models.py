"""One CSAT survey per resolved conversation: its schedule, what was sent, and the answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime, utcnow


class SurveyState(StrEnum):
    scheduled = "scheduled"  # waiting for its delay or for the morning (quiet hours)
    sent = "sent"  # the rating question is out
    awaiting_comment = "awaiting_comment"  # rated; an optional comment may follow
    answered = "answered"  # rated (and commented, or the comment window passed)
    skipped = "skipped"  # not sent; `skip_reason` says why


class Survey(SQLModel, table=True):
    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_contact_sent", "contact_id", "sent_at"),
        Index("ix_surveys_state_due", "state", "scheduled_for"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    contact_id: int = Field(foreign_key="contacts.id")
    channel_id: int = Field(foreign_key="channels.id")
    agent_id: int | None = Field(default=None, foreign_key="agents.id")
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    state: str = Field(default=SurveyState.scheduled.value, max_length=24)
    scheduled_for: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deferred: bool = Field(default=False)
    rating: int | None = Field(default=None)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    last_reply_id: int = Field(default=0)  # the newest customer message applied: re-runs are no-ops
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = Field(default=False)
    skip_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveyConfig(SQLModel, table=True):
    """Per channel: whether and when to survey, and the template for a closed 24-hour window.

    Templates belong to a WhatsApp Business Account, so the template is per channel; without a row
    the settings' defaults apply (`SURVEY_DELAY_SECONDS`, no template).
    """

    __tablename__ = "survey_configs"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    enabled: bool = Field(default=True)
    delay_seconds: float | None = Field(default=None)
    template_name: str | None = Field(default=None, max_length=255)
    template_language: str = Field(default="en", max_length=16)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
