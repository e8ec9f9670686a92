"""Contacts, conversations and messages: the record of every exchange."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.db.types import JSONColumn, UTCDateTime, utcnow


class ConversationStatus(StrEnum):
    bot = "bot"
    queued = "queued"
    assigned = "assigned"
    snoozed = "snoozed"
    resolved = "resolved"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class Sender(StrEnum):
    customer = "customer"
    bot = "bot"
    agent = "agent"
    system = "system"
    api = "api"
    business_app = "business_app"  # typed on the phone of a coexistence number


class MessageStatus(StrEnum):
    received = "received"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    played = "played"
    failed = "failed"
    dead = "dead"


class Contact(SQLModel, table=True):
    """One person on one channel, known by phone number (`wa_id`), by BSUID (`user_id`), or both.

    A customer with a WhatsApp username may withhold their number: then only `user_id` names
    them. Both are unique per channel (NULLs aside), so one person is one row.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("channel_id", "wa_id", name="uq_contacts_channel_wa_id"),
        UniqueConstraint("channel_id", "user_id", name="uq_contacts_channel_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    wa_id: str | None = Field(default=None, max_length=32)
    user_id: str | None = Field(default=None, max_length=160)
    parent_user_id: str | None = Field(default=None, max_length=160)
    username: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    language: str | None = Field(default=None, max_length=16)
    time_zone: str | None = Field(default=None, max_length=64)  # IANA name, e.g. Europe/Berlin
    # What is known about the customer (key → value): the bot's `collect` answers, agents' edits.
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    opted_out: bool = Field(default=False)
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def label(self) -> str:
        """What people call this customer: name, else number, else @username, else BSUID."""
        handle = f"@{self.username}" if self.username else None
        return self.name or self.wa_id or handle or self.user_id or f"contact {self.id}"


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_status_team", "status", "team_id"),
        Index("ix_conversations_contact_status", "contact_id", "status"),
        Index("ix_conversations_last_activity", "last_activity_at"),
        # At most one open conversation per contact, whatever races the writers run into.
        Index(
            "uq_conversations_one_open_per_contact",
            "contact_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    contact_id: int = Field(foreign_key="contacts.id")
    status: str = Field(default=ConversationStatus.queued.value, max_length=16)
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    assignee_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    priority: int = Field(default=0)
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_message_id: int | None = Field(default=None)
    unread_count: int = Field(default=0)
    last_read_message_id: int | None = Field(default=None)
    last_activity_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Where the chat came from: "ad" for a click-to-WhatsApp ad (its `referral` object kept).
    source: str | None = Field(default=None, max_length=32)
    referral: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn))
    # While `snoozed`: when it wakes, and who held it (it goes back to them, or to the queue).
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_by_id: int | None = Field(default=None, foreign_key="agents.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationAccess(SQLModel, table=True):
    """An agent outside the conversation's teams who may read it and write notes: mentioned in
    a note. Kept after the mention, so their notification still opens the conversation."""

    __tablename__ = "conversation_access"
    __table_args__ = (
        UniqueConstraint("agent_id", "conversation_id", name="uq_conversation_access"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    agent_id: int = Field(foreign_key="agents.id")
    message_id: int | None = Field(default=None, foreign_key="messages.id")  # the mentioning note
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Label(SQLModel, table=True):
    """A tag for conversations and contacts; agents add them, admins set colour and description."""

    __tablename__ = "labels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, unique=True)
    colour: str = Field(default="#5f6b66", max_length=7)
    description: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_labels"
    __table_args__ = (Index("ix_conversation_labels_label", "label_id"),)

    conversation_id: int = Field(foreign_key="conversations.id", primary_key=True)
    label_id: int = Field(foreign_key="labels.id", primary_key=True)


class ContactLabel(SQLModel, table=True):
    __tablename__ = "contact_labels"
    __table_args__ = (Index("ix_contact_labels_label", "label_id"),)

    contact_id: int = Field(foreign_key="contacts.id", primary_key=True)
    label_id: int = Field(foreign_key="labels.id", primary_key=True)


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "provider_message_id", name="uq_messages_provider_id"),
        UniqueConstraint("conversation_id", "idempotency_key", name="uq_messages_idempotency"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    channel_id: int = Field(foreign_key="channels.id")
    direction: str = Field(max_length=16)
    sender: str = Field(max_length=16)
    sender_agent_id: int | None = Field(default=None, foreign_key="agents.id")
    sender_api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    reference: str | None = Field(default=None, max_length=255)  # a business system's own id
    type: str = Field(default="text", max_length=24)
    text: str | None = Field(default=None)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn))
    status: str = Field(max_length=16)
    error_code: int | None = Field(default=None)
    error_title: str | None = Field(default=None, max_length=512)
    provider_message_id: str | None = Field(default=None, max_length=128)
    reply_to_provider_id: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=255)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_timestamp: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Meta's `pricing` of an outbound message, from its statuses (for the billable report).
    pricing_category: str | None = Field(default=None, max_length=32)
    pricing_model: str | None = Field(default=None, max_length=32)
    billable: bool | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PendingStatus(SQLModel, table=True):
    """A delivery status that arrived before the message it names: applied when the message appears."""

    __tablename__ = "pending_statuses"
    __table_args__ = (Index("ix_pending_statuses_lookup", "channel_id", "provider_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    provider_message_id: str = Field(max_length=128)
    status: str = Field(max_length=16)
    error_code: int | None = Field(default=None)
    error_title: str | None = Field(default=None, max_length=512)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
