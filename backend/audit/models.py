"""One append-only row per audited action; nothing in the app updates or deletes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_kind: str = Field(max_length=16)  # agent | api_key | anonymous | system
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn, nullable=True))
    source: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=500)
