"""The events about one conversation or one of its messages, built one way.

Every `conversation.*` and `sla.*` event carries the conversation as the REST API shows it (plus
the type's extras, `ConversationExtras`); every `message.*` event carries the message. Both are
addressed by the conversation's team and assignee, so the socket's visibility rule can route them
without reading the conversation again. Writing them here keeps those three fields and the data's
shape from drifting between the dozen places that emit them.

`conversation_event` and `message_event` are the pure part: the event row from JSON in hand, for
the set-based ingest, which records a whole set's events at once; `emit_*` read the JSON and
record one.
"""

from __future__ import annotations

from typing import Any, Unpack, cast

from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Message
from backend.conversations.views import conversation_json, message_json
from backend.db.bulk import row_object
from backend.realtime.events import record_events
from backend.realtime.models import Event
from backend.realtime.types import (
    CONVERSATION_EVENTS,
    MESSAGE_EVENTS,
    SLA_EVENTS,
    ConversationExtras,
    ConversationPayload,
    EventType,
    MessagePayload,
)


def conversation_event(
    type_: EventType, conversation: Conversation, view: dict[str, Any],
    **extra: Unpack[ConversationExtras],
) -> Event:  # fmt: skip
    """A `conversation.*` or `sla.*` event, `view` being the conversation's JSON."""
    assert type_ in CONVERSATION_EVENTS or type_ in SLA_EVENTS, type_
    payload: ConversationPayload = {"conversation": view, **extra}
    return _event(type_, cast(dict[str, Any], payload), conversation)


def message_event(type_: EventType, view: dict[str, Any], conversation: Conversation) -> Event:
    """A `message.*` event, `view` being the message's JSON."""
    assert type_ in MESSAGE_EVENTS, type_
    payload: MessagePayload = {"message": view}
    return _event(type_, cast(dict[str, Any], payload), conversation)


def _event(type_: EventType, data: dict[str, Any], conversation: Conversation) -> Event:
    # A row object, not Event(...): pydantic's __init__ would cost more than the rest of the event.
    return row_object(
        Event, type=type_, data=data, conversation_id=conversation.id,
        team_id=conversation.team_id, assignee_id=conversation.assignee_id,
    )  # fmt: skip


async def emit_conversation(
    session: AsyncSession,
    type_: EventType,
    conversation: Conversation,
    *,
    view: dict[str, Any] | None = None,
    **extra: Unpack[ConversationExtras],
) -> None:
    """`view`: the conversation's JSON when the caller has it already (one view, two events)."""
    if view is None:
        view = await conversation_json(session, conversation)
    await record_events(session, [conversation_event(type_, conversation, view, **extra)])


async def emit_message(
    session: AsyncSession, type_: EventType, message: Message, conversation: Conversation
) -> None:
    view = await message_json(session, message)
    await record_events(session, [message_event(type_, view, conversation)])
