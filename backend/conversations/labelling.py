"""Labelling a conversation: by anyone who may see it, announced as `conversation.updated`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.labels import set_conversation_labels
from backend.conversations.models import Conversation
from backend.conversations.views import conversation_json
from backend.conversations.visibility import get_visible
from backend.db.types import utcnow
from backend.realtime.events import record_event


async def label_conversation(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, names: list[str]
) -> Conversation:
    conversation = await get_visible(session, agent, conversation_id)
    await set_conversation_labels(session, conversation_id, names)
    conversation.updated_at = utcnow()
    await session.flush()
    await record_event(
        session, "conversation.updated",
        {"conversation": await conversation_json(session, conversation)},
        conversation_id=conversation.id, team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
    )  # fmt: skip
    return conversation
