"""What Switchboard knows about each message's file, and the files agents upload to send."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime, utcnow


class MediaState(StrEnum):
    pending = "pending"
    stored = "stored"
    failed = "failed"


class MessageMedia(SQLModel, table=True):
    """One message's file: where its bytes come from (a provider's media id or link), whether they
    are stored yet, and their hash (the storage key). Inbound rows are made by the download job, so
    ingest never waits for Meta; outbound rows by the reply that attaches an upload."""

    __tablename__ = "message_media"
    __table_args__ = (Index("ix_message_media_state_due", "state", "next_attempt_at"),)

    message_id: int = Field(primary_key=True, foreign_key="messages.id")
    kind: str = Field(max_length=16)  # image | audio | video | document | sticker
    mime_type: str | None = Field(default=None, max_length=255)
    filename: str | None = Field(default=None, max_length=255)
    caption: str | None = Field(default=None)
    voice: bool = Field(default=False)
    size: int | None = Field(default=None)
    sha256: str | None = Field(default=None, max_length=64)  # hex of the stored bytes
    state: str = Field(default=MediaState.pending.value, max_length=16)
    error: str | None = Field(default=None, max_length=512)
    provider_media_id: str | None = Field(default=None, max_length=255)  # Meta's id, either way
    source_url: str | None = Field(default=None, max_length=2048)  # a link (Ultramsg)
    upload_id: int | None = Field(default=None, foreign_key="uploads.id")
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Upload(SQLModel, table=True):
    """A file an agent uploaded, checked against WhatsApp's limits, stored by its hash."""

    __tablename__ = "uploads"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    kind: str = Field(max_length=16)
    filename: str = Field(max_length=255)
    mime_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
