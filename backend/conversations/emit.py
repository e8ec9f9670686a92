"""The events about one conversation or one of its messages, built one way.

Every `conversation.*` and `sla.*` event carries the conversation as the REST API shows it (plus
the type's extras, `ConversationExtras`); every `message.*` event carries the message. Both are
addressed by the conversation's team and assignee, so the socket's visibility rule can route them
without reading the conversation again. Writing them here keeps those three fields and the data's
shape from drifting between the dozen places that emit them.
"""

from __future__ import annotations

from typing import Any, Unpack, cast

from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Message
from backend.conversations.views import conversation_json, message_json
from backend.realtime.events import record_event
from backend.realtime.types import (
    CONVERSATION_EVENTS,
    MESSAGE_EVENTS,
    SLA_EVENTS,
    ConversationExtras,
    ConversationPayload,
    EventType,
    MessagePayload,
)


async def emit_conversation(
    session: AsyncSession,
    type_: EventType,
    conversation: Conversation,
    *,
    view: dict[str, Any] | None = None,
    **extra: Unpack[ConversationExtras],
) -> None:
    """`view`: the conversation's JSON when the caller has it already (one view, two events)."""
    assert type_ in CONVERSATION_EVENTS or type_ in SLA_EVENTS, type_
    payload: ConversationPayload = {
        "conversation": view if view is not None else await conversation_json(session, conversation),
        **extra,
    }  # fmt: skip
    await record_event(
        session, type_, cast(dict[str, Any], payload), conversation_id=conversation.id,
        team_id=conversation.team_id, assignee_id=conversation.assignee_id,
    )  # fmt: skip


async def emit_message(
    session: AsyncSession, type_: EventType, message: Message, conversation: Conversation
) -> None:
    assert type_ in MESSAGE_EVENTS, type_
    payload: MessagePayload = {"message": await message_json(session, message)}
    await record_event(
        session, type_, cast(dict[str, Any], payload), conversation_id=conversation.id,
        team_id=conversation.team_id, assignee_id=conversation.assignee_id,
    )  # fmt: skip
