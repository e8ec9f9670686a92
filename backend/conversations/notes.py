"""System notes: timeline entries for agents (handoff summaries, survey steps, consent changes).

A note is a message with sender `system` that is never sent to the customer. It is stored as
`outbound` with status `sent` so that nothing treats it as work: the send job, the outbox
reconciler and the in-order send check only look at `queued`/`sending` messages, and the
mark-as-read logic only at inbound ones. It goes through the same `message.created` event as any
message, so the inbox shows it live and on reload, centred, in the conversation's timeline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Direction, Message, MessageStatus, Sender
from backend.conversations.views import message_json
from backend.db.types import utcnow
from backend.realtime.events import record_event


async def write_note(
    session: AsyncSession, conversation: Conversation, text: str, kind: str,
    details: dict[str, Any] | None = None,
) -> Message:  # fmt: skip
    """Adds a note and its event to the caller's transaction; `kind` names it for programs."""
    assert conversation.id is not None
    now = utcnow()
    note = Message(
        conversation_id=conversation.id, channel_id=conversation.channel_id,
        direction=Direction.outbound.value, sender=Sender.system.value, type="text", text=text,
        payload={"note": kind, **(details or {})}, status=MessageStatus.sent.value,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(note)
    await session.flush()
    await record_event(
        session, "message.created", {"message": await message_json(session, note)},
        conversation_id=conversation.id, team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
    )  # fmt: skip
    return note
