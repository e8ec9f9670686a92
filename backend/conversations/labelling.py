"""Labelling a conversation: by anyone who may see it, announced as `conversation.updated`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.emit import emit_conversation
from backend.conversations.labels import set_conversation_labels
from backend.conversations.models import Conversation
from backend.conversations.visibility import get_visible
from backend.db.types import utcnow
from backend.realtime.types import EventType


async def label_conversation(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, names: list[str]
) -> Conversation:
    conversation = await get_visible(session, agent, conversation_id)
    await set_conversation_labels(session, conversation_id, names)
    conversation.updated_at = utcnow()
    await session.flush()
    await emit_conversation(session, EventType.conversation_updated, conversation)
    return conversation
