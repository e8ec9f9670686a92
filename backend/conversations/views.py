"""The JSON shapes of conversations and messages (CONTRACT.md), used by routes and events alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent, Team
from backend.conversations.labels import conversation_labels, labels_of
from backend.conversations.models import Contact, Conversation, Message
from backend.integrations.models import ApiKey
from backend.media.views import media_json
from backend.sla.summary import sla_summary
from backend.templates.services import template_of_message

SERVICE_WINDOW = timedelta(hours=24)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_view(
    message: Message,
    agent_name: str | None = None,
    api_key_name: str | None = None,
    media: dict[str, Any] | None = None,
) -> dict[str, Any]:
    error = (
        {"code": message.error_code, "title": message.error_title}
        if message.error_code is not None or message.error_title
        else None
    )
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "sender": message.sender,
        "sender_agent": (
            {"id": message.sender_agent_id, "name": agent_name}
            if message.sender_agent_id is not None
            else None
        ),
        "api_key": (
            {"id": message.sender_api_key_id, "name": api_key_name}
            if message.sender_api_key_id is not None
            else None
        ),
        "reference": message.reference,
        "type": message.type,
        "private": message.type == "note",  # agents' notes: never sent, never shown to customers
        "text": message.text,
        "payload": message.payload,
        "status": message.status,
        "error": error,
        "provider_message_id": message.provider_message_id,
        "attempts": message.attempts,
        "next_attempt_at": iso(message.next_attempt_at),
        "created_at": iso(message.created_at),
        "media": media,
    }


async def message_json(session: AsyncSession, message: Message) -> dict[str, Any]:
    name = None
    if message.sender_agent_id is not None:
        agent = await session.get(Agent, message.sender_agent_id)
        name = agent.name if agent else None
    key_name = None
    if message.sender_api_key_id is not None:
        key = await session.get(ApiKey, message.sender_api_key_id)
        key_name = key.name if key else None
    media = await media_json(session, message.id, message.type, message.payload)
    view = message_view(message, name, key_name, media)
    if message.type == "template" and message.id is not None:
        view["template"] = await template_of_message(session, message.id)
    return view


def window_expires_at(contact: Contact) -> datetime | None:
    return contact.last_inbound_at + SERVICE_WINDOW if contact.last_inbound_at else None


LABELS_CACHE = "switchboard.conversation_labels"


async def _labels(session: AsyncSession, conversation_id: int | None) -> list[str]:
    """From the list's preload when there is one (`preload_labels`), else one query."""
    cached: dict[int, list[str]] | None = session.info.get(LABELS_CACHE)
    if cached is not None and conversation_id in cached:
        return cached[conversation_id]
    return await conversation_labels(session, conversation_id)


async def preload_labels(session: AsyncSession, conversation_ids: list[int]) -> None:
    """One query for a whole list's labels; valid until the session's next write."""
    session.info[LABELS_CACHE] = await labels_of(session, conversation_ids)


async def conversation_json(
    session: AsyncSession, conversation: Conversation, *, new: bool = False
) -> dict[str, Any]:
    """One conversation with its contact, team, assignee and last message (identity-map cached).

    `new`: opened in this very transaction, so no SLA clock can exist yet (they are started by
    reactions after the commit) and the query for them is skipped."""
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    team = await session.get(Team, conversation.team_id) if conversation.team_id else None
    assignee = (
        await session.get(Agent, conversation.assignee_id) if conversation.assignee_id else None
    )
    last = (
        await session.get(Message, conversation.last_message_id)
        if conversation.last_message_id
        else None
    )
    return conversation_view(
        conversation, contact, team, assignee,
        last_message=await message_json(session, last) if last else None,
        labels=[] if new else await _labels(session, conversation.id),
        sla=None if new else await sla_summary(session, conversation.id),
    )  # fmt: skip


def conversation_view(
    conversation: Conversation,
    contact: Contact,
    team: Team | None,
    assignee: Agent | None,
    *,
    last_message: dict[str, Any] | None,
    labels: list[str],
    sla: dict[str, Any] | None,
) -> dict[str, Any]:
    """The conversation's JSON from rows in hand: ingest builds a new one's without a query."""
    return {
        "id": conversation.id,
        "status": conversation.status,
        "team": team.name if team else None,
        "team_id": conversation.team_id,
        "assignee": {"id": assignee.id, "name": assignee.name} if assignee else None,
        "contact": {
            "id": contact.id,
            "wa_id": contact.wa_id,
            "user_id": contact.user_id,
            "username": contact.username,
            "name": contact.name,
            "language": contact.language,
        },
        "channel_id": conversation.channel_id,
        "source": conversation.source,  # "ad" for a click-to-WhatsApp ad; its `referral` kept
        "referral": conversation.referral,
        "priority": conversation.priority,
        "queued_at": iso(conversation.queued_at),
        "window_expires_at": iso(window_expires_at(contact)),
        "first_response_at": iso(conversation.first_response_at),
        "resolved_at": iso(conversation.resolved_at),
        "snoozed_until": iso(conversation.snoozed_until),
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "last_message": last_message,
        "unread": conversation.unread_count,
        "labels": labels,
        "sla": sla,
    }
