"""The JSON shapes of conversations and messages (CONTRACT.md), used by routes and events alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select

from backend.agents.models import Agent, Team
from backend.conversations.labels import labels_of
from backend.conversations.models import Contact, Conversation, Message
from backend.integrations.models import ApiKey
from backend.media.views import has_media, media_rows, media_view
from backend.sla.summary import sla_summaries
from backend.templates.services import templates_of_messages

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
    return (await messages_json(session, [message]))[0]


async def messages_json(session: AsyncSession, messages: list[Message]) -> list[dict[str, Any]]:
    """A page of messages in at most four queries (their agents, API keys, files, templates),
    whatever its length; each is skipped when no message needs it."""
    agents = await _by_id(session, Agent, {m.sender_agent_id for m in messages})
    keys = await _by_id(session, ApiKey, {m.sender_api_key_id for m in messages})
    media = await media_rows(
        session, [m.id for m in messages if m.id is not None and has_media(m.type)]
    )
    templates = await templates_of_messages(
        session, [m.id for m in messages if m.id is not None and m.type == "template"]
    )
    views = []
    for message in messages:
        file = (
            media_view(message.id, message.type, message.payload, media.get(message.id))
            if message.id is not None and has_media(message.type)
            else None
        )
        agent = agents.get(message.sender_agent_id) if message.sender_agent_id else None
        key = keys.get(message.sender_api_key_id) if message.sender_api_key_id else None
        view = message_view(message, agent.name if agent else None, key.name if key else None, file)
        if message.type == "template" and message.id is not None:
            view["template"] = templates.get(message.id)
        views.append(view)
    return views


_Row = TypeVar("_Row", Contact, Team, Agent, Message, ApiKey)


async def _by_id(session: AsyncSession, model: type[_Row], ids: set[int | None]) -> dict[int, _Row]:
    """Rows by id: those the session holds already cost nothing (as `session.get`), the rest
    one query."""
    found: dict[int, _Row] = {}
    for id_ in ids:
        if id_ is not None:
            held = session.identity_map.get(identity_key(model, id_))
            if isinstance(held, model) and not inspect(held).expired_attributes:
                found[id_] = held
    wanted = {i for i in ids if i is not None and i not in found}
    if wanted:
        rows = await session.execute(select(model).where(col(model.id).in_(wanted)))
        found.update({row.id: row for row in rows.scalars() if row.id is not None})
    return found


def contact_brief(contact: Contact) -> dict[str, Any]:
    """Who the customer is, as a conversation shows them (the contact's own JSON adds the rest)."""
    return {
        "id": contact.id, "wa_id": contact.wa_id, "user_id": contact.user_id,
        "username": contact.username, "name": contact.name, "language": contact.language,
    }  # fmt: skip


def window_expires_at(contact: Contact) -> datetime | None:
    return contact.last_inbound_at + SERVICE_WINDOW if contact.last_inbound_at else None


async def conversation_json(
    session: AsyncSession, conversation: Conversation, *, new: bool = False
) -> dict[str, Any]:
    """One conversation with its contact, team, assignee, last message, labels and SLA.

    `new`: opened in this very transaction, so no SLA clock can exist yet (they are started by
    reactions after the commit) and the queries for them and for labels are skipped."""
    return (await conversations_json(session, [conversation], new=new))[0]


async def conversations_json(
    session: AsyncSession, conversations: list[Conversation], *, new: bool = False
) -> list[dict[str, Any]]:
    """A list of conversations in a fixed number of queries, whatever its length: one each for
    contacts, teams, agents (assignees and the last messages' senders), last messages, their
    API keys, files and templates, labels and SLA clocks (a query nobody needs is skipped)."""
    contacts = await _by_id(session, Contact, {c.contact_id for c in conversations})
    teams = await _by_id(session, Team, {c.team_id for c in conversations})
    lasts = await _by_id(session, Message, {c.last_message_id for c in conversations})
    agents = await _by_id(
        session, Agent,
        {c.assignee_id for c in conversations} | {m.sender_agent_id for m in lasts.values()},
    )  # fmt: skip
    ids = [c.id for c in conversations if c.id is not None]
    labels = {} if new else await labels_of(session, ids)
    slas = {} if new else await sla_summaries(session, ids)
    last_views = dict(zip(lasts, await messages_json(session, list(lasts.values())), strict=True))
    return [
        conversation_view(
            conversation, contacts[conversation.contact_id],
            teams.get(conversation.team_id) if conversation.team_id else None,
            agents.get(conversation.assignee_id) if conversation.assignee_id else None,
            last_message=(
                last_views.get(conversation.last_message_id)
                if conversation.last_message_id else None
            ),
            labels=labels.get(conversation.id, []) if conversation.id is not None else [],
            sla=slas.get(conversation.id) if conversation.id is not None else None,
        )
        for conversation in conversations
    ]  # fmt: skip


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
        "contact": contact_brief(contact),
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
