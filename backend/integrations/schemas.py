"""The typed request and response bodies of the integration routes (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.openapi.spec import Example
from litestar.params import Body
from pydantic import BaseModel, ConfigDict, Field

from backend.integrations.keys import SCOPES


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(description=f"any of {', '.join(SCOPES)}", max_length=len(SCOPES))
    rate_per_minute: int | None = Field(
        default=None, ge=1, le=100_000, description="requests per minute (API_KEY_RATE_PER_MINUTE)"
    )


class ApiKeyView(BaseModel):
    id: int
    name: str
    scopes: list[str]
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    rate_per_minute: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyView):
    key: str = Field(description="the key itself (`sbk_…`): shown only in this answer")


class ApiKeyList(BaseModel):
    items: list[ApiKeyView]


class ScopeList(BaseModel):
    items: list[str]


class ErrorBody(BaseModel):
    status_code: int
    detail: str
    extra: dict[str, Any] | None = None


class Named(BaseModel):
    id: int
    name: str | None


class MessageError(BaseModel):
    code: int | None
    title: str | None


class MessageView(BaseModel):
    """A message as the REST API and events show it (fields added elsewhere pass through)."""

    model_config = ConfigDict(extra="allow")
    id: int
    conversation_id: int
    direction: str = Field(description="inbound | outbound")
    sender: str = Field(description="customer | bot | agent | system | business_app | api")
    sender_agent: Named | None = None
    api_key: Named | None = Field(default=None, description="the key that sent it (sender api)")
    reference: str | None = None
    type: str
    text: str | None
    payload: dict[str, Any]
    status: str = Field(description="queued, sent, delivered, read, failed, dead (or received)")
    error: MessageError | None
    provider_message_id: str | None
    created_at: datetime


ORDER_CONFIRMATION: dict[str, Any] = {
    "to": "+4915112345678",
    "name": "Ada Lovelace",
    "reference": "order-1042",
    "template": {
        "name": "order_confirmation",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]},
        ],
    },
}


class MessageRequest(BaseModel):
    to: str = Field(
        min_length=1, max_length=160, description="phone number (digits, `+` optional) or BSUID"
    )
    template: dict[str, Any] | None = Field(
        default=None, description="a Cloud API template object: name, language, components"
    )
    text: str | None = Field(
        default=None, description="free text: only inside the customer's 24-hour window"
    )
    name: str | None = Field(default=None, max_length=255, description="the customer's name")
    team: str | None = Field(default=None, description="the team whose queue a new chat waits in")
    reference: str | None = Field(default=None, max_length=255, description="your own id")
    channel_id: int | None = Field(default=None, description="default: the default channel")


class MessageAccepted(BaseModel):
    message: MessageView
    conversation_id: int


class BatchItem(MessageRequest):
    idempotency_key: str | None = Field(default=None, max_length=255)


class BatchRequest(BaseModel):
    messages: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        description="each a message body as for POST /api/v1/messages plus `idempotency_key`",
    )  # fmt: skip


class BatchResult(BaseModel):
    status: int = Field(description="202 accepted, or the 4xx the single send would have had")
    message: MessageView | None = None
    conversation_id: int | None = None
    detail: str | None = None


class BatchResults(BaseModel):
    results: list[BatchResult]


class EndpointCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="https; checked for SSRF")
    events: list[str] = Field(description='event types, or ["*"] for every one', max_length=100)
    description: str | None = Field(default=None, max_length=500)


class EndpointUpdate(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    state: str | None = Field(default=None, description="active (re-enable) or disabled")


class EndpointView(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str | None
    state: str = Field(description="active, or disabled (by an admin, or after 72 h of failures)")
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="until then the secret before the last rotation still signs"
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointView):
    secret: str = Field(description="the signing secret (`whsec_…`): shown only in this answer")


class EndpointList(BaseModel):
    items: list[EndpointView]


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(description="the new secret (`whsec_…`): shown only in this answer")
    previous_secret_expires_at: datetime


class AttemptView(BaseModel):
    at: datetime
    status_code: int | None
    duration_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryView(BaseModel):
    id: str = Field(description="the delivery id: Switchboard-Delivery, and `id` in the body")
    event_seq: int
    event_type: str
    state: str = Field(description="pending, delivered or failed")
    status_code: int | None = Field(description="the last attempt's HTTP status")
    duration_ms: int | None
    response_excerpt: str | None
    error: str | None
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    attempts: list[AttemptView]


class DeliveryList(BaseModel):
    items: list[DeliveryView]


def example(summary: str, value: dict[str, Any]) -> Any:
    """A request body's example for the OpenAPI schema (Litestar reads them from `Body`)."""
    return Body(examples=[Example(summary=summary, value=value)])


KEY_EXAMPLE = example("A key for a shop", {"name": "Shop backend", "scopes": ["messages:send"]})
MESSAGE_EXAMPLE = example("An order confirmation", ORDER_CONFIRMATION)
BATCH_EXAMPLE = example(
    "Two confirmations",
    {"messages": [{**ORDER_CONFIRMATION, "idempotency_key": "order-1042"},
                  {**ORDER_CONFIRMATION, "to": "+4915187654321", "idempotency_key": "order-1043"}]},
)  # fmt: skip
ENDPOINT_EXAMPLE = example(
    "The shop hears replies and resolutions",
    {"url": "https://shop.example.com/hooks/switchboard",
     "events": ["message.created", "conversation.resolved"], "description": "Shop backend"},
)  # fmt: skip
