"""Canned responses agents insert with `/shortcut` in the composer."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime, utcnow


class QuickReply(SQLModel, table=True):
    __tablename__ = "quick_replies"

    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=40, unique=True, index=True)
    title: str = Field(max_length=120)
    text: str = Field(max_length=4096)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
