"""The integration tables: API keys, their idempotency records, webhook endpoints and deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.secrets_box import EncryptedText
from backend.db.types import JSONColumn, UTCDateTime, utcnow


class Scope(StrEnum):
    messages_send = "messages:send"
    conversations_read = "conversations:read"
    contacts_read = "contacts:read"
    contacts_write = "contacts:write"
    webhooks_manage = "webhooks:manage"


class ApiKey(SQLModel, table=True):
    """A business system's credential. Only the SHA-256 of the key is kept (keys are random and
    long, so a slow password hash adds nothing); `prefix` lets people tell keys apart."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    rate_per_minute: int = Field(default=600)
    created_by_agent_id: int | None = Field(default=None, foreign_key="agents.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiIdempotency(SQLModel, table=True):
    """An `Idempotency-Key` a key has used, and the message it produced: the same key, the same
    answer, whichever conversation the message went to."""

    __tablename__ = "api_idempotency"

    api_key_id: int = Field(
        sa_column=Column(Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    )
    key: str = Field(primary_key=True, max_length=255)
    message_id: int = Field(foreign_key="messages.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EndpointState(StrEnum):
    active = "active"
    disabled = "disabled"


class WebhookEndpoint(SQLModel, table=True):
    """Where events go. Secrets are read and written only through `endpoints.secrets_of` and
    `endpoints.set_secret`, so encrypting them at rest is a change in one place."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    state: str = Field(default=EndpointState.active.value, max_length=16)
    secret: str = Field(sa_column=Column(EncryptedText, nullable=False))  # encrypted at rest
    previous_secret: str | None = Field(
        default=None, sa_column=Column(EncryptedText, nullable=True)
    )
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Events numbered up to here happened before the endpoint existed: never delivered to it.
    start_after_seq: int = Field(default=0)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: written before anything is sent, so it cannot be lost."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_seq", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    endpoint_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_seq: int
    event_type: str = Field(max_length=48)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    state: str = Field(default=DeliveryState.pending.value, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=255)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Retries stop this long after here (creation, or the last manual redeliver).
    retry_from: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """What one POST of a delivery got back, for the deliveries page."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = Field(default=None)
    duration_ms: int = Field(default=0)
    response_excerpt: str | None = Field(default=None, max_length=1024)
    error: str | None = Field(default=None, max_length=255)


class WebhookCursor(SQLModel, table=True):
    """How far the fan-out has read the event log; moved in the transaction that writes the
    deliveries of the events it passed, so an event is turned into deliveries exactly once."""

    __tablename__ = "webhook_cursor"

    name: str = Field(primary_key=True, max_length=32)
    last_seq: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
