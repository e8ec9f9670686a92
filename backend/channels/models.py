"""A channel is one business phone number at one provider."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.core.secrets_box import EncryptedText
from backend.db.types import JSONColumn, UTCDateTime, utcnow


class ProviderKind(StrEnum):
    cloud_api = "cloud_api"
    ultramsg = "ultramsg"


class Channel(SQLModel, table=True):
    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    provider: str = Field(default=ProviderKind.cloud_api.value, max_length=16)
    phone_number_id: str = Field(max_length=64, unique=True, index=True)
    # Secrets are encrypted at rest (backend/core/secrets_box.py): never compare them in SQL.
    access_token: str = Field(sa_column=Column(EncryptedText, nullable=False))
    app_secret: str = Field(default="", sa_column=Column(EncryptedText, nullable=False))
    verify_token: str = Field(default="", sa_column=Column(EncryptedText, nullable=False))
    # Rotation with overlap: the old app secret still verifies webhooks until this time.
    previous_app_secret: str | None = Field(
        default=None, sa_column=Column(EncryptedText, nullable=True)
    )
    previous_app_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # None: the built-in sandbox on this server (resolved at send time from PUBLIC_BASE_URL).
    api_base_url: str | None = Field(default=None, max_length=255)
    webhook_token: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    # The WhatsApp Business Account (WABA) id: templates are synced from and submitted to it.
    business_account_id: str | None = Field(default=None, max_length=64, index=True)
    default_team_id: int | None = Field(default=None, foreign_key="teams.id")
    is_default: bool = Field(default=False)
    rate_per_second: int = Field(default=80)
    # Show "typing…" to the customer while an agent types a reply (Cloud API only).
    typing_indicator: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookReject(SQLModel, table=True):
    """A part of a webhook that named no customer or message to store it under, kept as it came.

    The rest of its batch was stored; this row is what an operator reads to see what was odd.
    """

    __tablename__ = "webhook_rejects"

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id", index=True)
    provider: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # entry | change | message | status
    reason: str = Field(max_length=512)
    raw: Any = Field(default=None, sa_column=Column(JSONColumn))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
