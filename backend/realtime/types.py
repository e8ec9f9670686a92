"""Every event type the system emits, and the shape of each one's `data`, in one place.

The strings are the wire format (the socket, `GET /api/v1/events`, outgoing webhooks and the
reactions all match on them; docs/events.md and CONTRACT.md list them), so the members are a
`StrEnum`: a member *is* its string, stored and compared as before.

Payloads are `TypedDict`s rather than msgspec or pydantic models: the data is built from the JSON
views the REST API already returns (`conversation_json`, `message_json`: plain dicts) and stored
as JSON as it is, so a class that validated or converted would cost time on the ingest path for
nothing mypy cannot already check where the payload is built. They describe; they do not copy.

This module imports nothing of ours, so anything (including `realtime/events.py` and the ingest
path) can name a type from it without an import cycle.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict


class EventType(StrEnum):
    # --- conversations (data: ConversationPayload; `by` says who, extras per type below)
    conversation_created = "conversation.created"
    conversation_queued = "conversation.queued"
    conversation_claimed = "conversation.claimed"
    conversation_released = "conversation.released"
    conversation_transferred = "conversation.transferred"
    conversation_resolved = "conversation.resolved"
    conversation_reopened = "conversation.reopened"
    conversation_snoozed = "conversation.snoozed"  # + until
    conversation_woken = "conversation.woken"  # + reason, holder_id
    conversation_updated = "conversation.updated"  # labels, the contact's name or labels
    # --- messages (data: MessagePayload)
    message_created = "message.created"
    message_status = "message.status"
    message_updated = "message.updated"
    # --- SLA clocks (data: ConversationPayload + clock, late, escalation; docs/sla.md)
    sla_warning = "sla.warning"
    sla_breached = "sla.breached"
    sla_updated = "sla.updated"
    # --- templates, agents, notifications
    template_updated = "template.updated"  # data: TemplatePayload
    agent_presence = "agent.presence"  # data: PresencePayload
    agent_created = "agent.created"  # data: AgentPayload
    agent_updated = "agent.updated"
    agent_deactivated = "agent.deactivated"
    agent_sessions_ended = "agent.sessions_ended"  # data: SessionsEndedPayload
    notification_created = "notification.created"  # data: NotificationPayload, private
    # --- configuration (backend/audit/changes.py `config_changed`: {<kind>: the thing}, redacted)
    quick_reply_created = "quick_reply.created"
    quick_reply_updated = "quick_reply.updated"
    quick_reply_deleted = "quick_reply.deleted"
    label_updated = "label.updated"
    team_created = "team.created"
    team_updated = "team.updated"  # also a members change (+ members)
    team_hours_updated = "team.hours_updated"
    channel_created = "channel.created"
    channel_updated = "channel.updated"
    channel_access_token_replaced = "channel.access_token_replaced"  # noqa: S105 (a name, not a secret)
    channel_verify_token_replaced = "channel.verify_token_replaced"  # noqa: S105 (a name, not a secret)
    channel_app_secret_rotated = "channel.app_secret_rotated"  # noqa: S105 (a name, not a secret)
    channel_app_secret_retired = "channel.app_secret_retired"  # noqa: S105 (a name, not a secret)
    bot_flow_saved = "bot_flow.saved"
    bot_flow_rolled_back = "bot_flow.rolled_back"
    bot_flow_switched_off = "bot_flow.switched_off"
    sla_policy_created = "sla_policy.created"
    sla_policy_updated = "sla_policy.updated"
    sla_policy_deleted = "sla_policy.deleted"
    survey_config_updated = "survey_config.updated"
    api_key_created = "api_key.created"
    api_key_revoked = "api_key.revoked"
    webhook_endpoint_created = "webhook_endpoint.created"
    webhook_endpoint_updated = "webhook_endpoint.updated"
    webhook_endpoint_deleted = "webhook_endpoint.deleted"
    webhook_endpoint_secret_rotated = "webhook_endpoint.secret_rotated"  # noqa: S105 (a name, not a secret)


CONVERSATION_EVENTS = frozenset(t for t in EventType if t.startswith("conversation."))
MESSAGE_EVENTS = frozenset(t for t in EventType if t.startswith("message."))
SLA_EVENTS = frozenset(t for t in EventType if t.startswith("sla."))


class By(TypedDict, total=False):
    """Who made a conversation change: an agent (`id`, `name`; `reason` when it was not their own
    doing), the bot, auto-assign, or an SLA escalation (`sla` clock kind, `from_team_id`)."""

    id: int | None
    name: str
    reason: str
    bot: bool
    auto_assign: bool
    sla: str
    from_team_id: int | None


class ConversationExtras(TypedDict, total=False):
    """What a conversation-shaped event carries beside the conversation, by type."""

    by: By
    until: str  # conversation.snoozed: ISO time
    reason: str  # conversation.woken: timer | customer
    holder_id: int | None  # conversation.woken
    clock: dict[str, Any]  # sla.*: the clock as `clock_json` shows it
    late: bool  # sla.breached found on the sweep
    escalation: dict[str, Any]  # sla.breached: raised_priority, moved_to_team, notify_leads


class ConversationPayload(ConversationExtras):
    conversation: dict[str, Any]  # as `GET /api/v1/conversations/{id}` returns it


class MessagePayload(TypedDict):
    message: dict[str, Any]  # as the messages API returns it


class TemplatePayload(TypedDict):
    template: dict[str, Any]


class PresenceAgent(TypedDict):
    id: int | None
    name: str
    presence: str


class PresencePayload(TypedDict):
    agent: PresenceAgent


class AgentPayload(TypedDict):
    agent: dict[str, Any]  # as `GET /api/v1/agents` lists it


class SessionsEndedAgent(TypedDict):
    id: int | None


class SessionsEndedPayload(TypedDict):
    agent: SessionsEndedAgent
    epoch: int


class NotificationPayload(TypedDict):
    notification: dict[str, Any]
