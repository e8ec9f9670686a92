"""The template library: Meta's approved message shapes per channel, their versions and sends.

A template is one name in one language on one channel (Meta's unit of review); its languages are
the rows that share the name. Every change of its content is a new `TemplateVersion`, so a
message sent last month still names the wording it used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class Template(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("channel_id", "name", "language", name="uq_templates_channel_name_lang"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    provider_template_id: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=512)
    language: str = Field(max_length=16)
    category: str = Field(max_length=32)
    previous_category: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=32)
    quality: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=1024)
    parameter_format: str = Field(default="POSITIONAL", max_length=16)
    components: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONColumn))
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TemplateVersion(SQLModel, table=True):
    """The content of one version, kept when the template is edited."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_template_versions_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="templates.id", ondelete="CASCADE")
    version: int
    category: str = Field(max_length=32)
    components: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONColumn))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TemplateSend(SQLModel, table=True):
    """Which template, version and language an outbound message used (for figures and history)."""

    __tablename__ = "template_sends"
    __table_args__ = (Index("ix_template_sends_template_time", "template_id", "created_at"),)

    message_id: int = Field(foreign_key="messages.id", primary_key=True, ondelete="CASCADE")
    template_id: int = Field(foreign_key="templates.id", ondelete="CASCADE")
    version: int
    language: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TemplateLibrary(SQLModel, table=True):
    """One channel's sync state: until a first sync succeeds, template sends are not checked."""

    __tablename__ = "template_libraries"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1024)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
