"""The one small interface every provider implements, and the normalized records it speaks.

Cloud API, Ultramsg and the sandbox differ on the wire; the rest of Switchboard sees only these
records, so ingest, sending and the inbox never branch on the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol


@dataclass(frozen=True)
class InboundMessage:
    """One customer message, as stored: `payload` is the provider's object for its type.

    The customer is named by `wa_id` (their phone number), by `user_id` (the business-scoped user
    id, BSUID, of a customer whose number WhatsApp withholds), or by both. `unreadable` says why
    a message could not be read: it is then stored as `unsupported` with its raw object.
    """

    phone_number_id: str
    provider_message_id: str
    wa_id: str | None
    contact_name: str | None
    type: str
    text: str | None
    payload: dict[str, Any]
    timestamp: datetime
    reply_to_provider_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    unreadable: str | None = None
    error_code: int | None = None  # e.g. 131052: WhatsApp could not download the customer's media
    error_title: str | None = None


@dataclass(frozen=True)
class EchoMessage:
    """What the business typed in the WhatsApp Business app on a coexistence number.

    Stored as an outbound message (sender `business_app`). An `edit` names the message it changes
    (`original_id`, with the new `type`/`text`/`payload`); a `revoke` the message it deletes.
    """

    phone_number_id: str
    provider_message_id: str
    wa_id: str | None
    user_id: str | None
    action: str  # send | edit | revoke
    type: str
    text: str | None
    payload: dict[str, Any]
    timestamp: datetime
    original_id: str | None = None
    contact_name: str | None = None
    parent_user_id: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for one of our outbound messages."""

    phone_number_id: str
    provider_message_id: str
    status: str  # sent | delivered | read | played | failed
    recipient_id: str | None
    timestamp: datetime
    error_code: int | None = None
    error_title: str | None = None
    callback_data: str | None = None  # what we sent as biz_opaque_callback_data
    recipient_user_id: str | None = None  # the BSUID, when the status names one
    pricing_category: str | None = None  # Meta's `pricing`: service, marketing, utility, ...
    pricing_model: str | None = None
    billable: bool | None = None


@dataclass(frozen=True)
class RejectedItem:
    """A part of a webhook that names no customer or message we could store it under.

    Kept as it came (see `channels.models.WebhookReject`) instead of failing its whole batch.
    """

    phone_number_id: str | None
    kind: str  # entry | change | message | status
    reason: str
    raw: Any


@dataclass(frozen=True)
class TemplateChange:
    """A template webhook change (status, quality or category) for one Business Account."""

    business_account_id: str
    field: str
    value: dict[str, Any]


@dataclass(frozen=True)
class ContactSync:
    """A contact the business saved, edited or removed in the WhatsApp Business app.

    Coexistence numbers send their phone's address book (`smb_app_state_sync`): the names the
    business itself gave its customers. Field names match `InboundMessage`, so the one contact
    upsert serves both.
    """

    phone_number_id: str
    wa_id: str | None
    user_id: str | None
    contact_name: str | None
    username: str | None
    action: str  # add | edit | remove
    timestamp: datetime
    parent_user_id: str | None = None


@dataclass(frozen=True)
class WebhookBatch:
    """Everything one webhook POST carried, across all its entries and changes."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    phone_number_ids: set[str] = field(default_factory=set)
    rejected: list[RejectedItem] = field(default_factory=list)
    echoes: list[EchoMessage] = field(default_factory=list)
    template_changes: list[TemplateChange] = field(default_factory=list)
    contact_syncs: list[ContactSync] = field(default_factory=list)
    # WhatsApp groups are not conversations of this desk: their events and messages are answered
    # 200 and counted (by kind), never stored.
    group_items: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> int:
        """Messages stored as `unsupported` because they could not be read, plus rejected parts."""
        return sum(1 for m in self.messages if m.unreadable is not None) + len(self.rejected)


class WebhookError(Exception):
    """The body is not a webhook we understand; the message says why (a 400)."""


class SendError(Exception):
    """A send that the provider refused or that did not reach it.

    `retryable` decides between another try and `failed`; `retry_after` (seconds) is honoured when
    the provider names one.
    """

    def __init__(
        self, code: int | None, title: str, *, retryable: bool,
        retry_after: float | None = None, details: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(f"{code}: {title}")
        self.code = code
        self.title = title
        self.retryable = retryable
        self.retry_after = retry_after
        self.details = details or {}


@dataclass(frozen=True)
class OutboundRequest:
    """What to send: `kind` and `body` are the Cloud API's message type and its object.

    `to` is the customer's phone number; `recipient` their BSUID, used when there is no number.
    """

    to: str | None
    kind: str  # text | interactive | template | image | audio | video | document | sticker
    body: dict[str, Any]
    reply_to_provider_id: str | None = None
    recipient: str | None = None


class Provider(Protocol):
    async def send(self, request: OutboundRequest, *, idempotency_key: str) -> str:
        """Send one message; returns the provider's message id (the wamid). Raises SendError."""
        ...

    async def mark_read(self, provider_message_id: str) -> None:
        """Tell the customer's phone that we read their message (blue ticks)."""
        ...

    async def show_typing(self, provider_message_id: str) -> bool:
        """Show "typing…" to the customer who wrote that message; False where the provider has
        no such thing (nothing is sent). Raises SendError."""
        ...

    async def upload_media(self, file: BinaryIO, mime_type: str, filename: str) -> str:
        """Hand a file to the provider before sending it; returns its media id. Raises SendError."""
        ...
