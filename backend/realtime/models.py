"""The event log: every change, numbered; the source of truth that websockets replay from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}

    # AUTOINCREMENT on SQLite and a sequence on PostgreSQL: never reused. Writers take a lock before
    # inserting (see realtime.events) so that numbers also commit in order.
    seq: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    type: str = Field(max_length=48, index=True)
    conversation_id: int | None = Field(default=None, index=True)
    team_id: int | None = Field(default=None)
    assignee_id: int | None = Field(default=None)
    # Set for an agent's private events (`notification.*`): only that agent ever receives it.
    recipient_id: int | None = Field(default=None)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))


class EventCursor(SQLModel, table=True):
    """How far one reaction has read the event log: every event up to `seq` has been handed to it.

    Advanced only after the reaction returned, so a crash in between repeats (never skips) events.
    """

    __tablename__ = "event_cursors"

    name: str = Field(primary_key=True, max_length=200)
    seq: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
