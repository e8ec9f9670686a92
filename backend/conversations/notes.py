"""Notes: timeline entries for agents only — system notes (handoff summaries, survey steps,
consent changes) and agents' private notes with @mentions (`type: "note"`).

A note is a message with sender `system` that is never sent to the customer. It is stored as
`outbound` with status `sent` so that nothing treats it as work: the send job, the outbox
reconciler and the in-order send check only look at `queued`/`sending` messages, and the
mark-as-read logic only at inbound ones. It goes through the same `message.created` event as any
message, so the inbox shows it live and on reload, centred, in the conversation's timeline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Agent
from backend.conversations.emit import emit_message
from backend.conversations.models import Conversation, Direction, Message, MessageStatus, Sender
from backend.conversations.visibility import get_visible, grant
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.realtime.types import EventType


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
    await emit_message(session, EventType.message_created, note, conversation)
    return note


MAX_NOTE_CHARS = 4096
MAX_MENTIONS = 20


async def write_agent_note(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, text: str,
    mentions: list[int],
) -> Message:  # fmt: skip
    """A private note (`type: "note"`) by an agent who may see the conversation.

    Stored like a system note (outbound, `sent`, so nothing ever sends it) and shown only to
    agents. Each mentioned agent is let into the conversation (read and note) in the same
    transaction; their notification is made by a reaction to the note's `message.created`."""
    conversation = await get_visible(session, agent, conversation_id)
    text = text.strip()
    if not text:
        raise ServiceError(422, "a note needs some text")
    if len(text) > MAX_NOTE_CHARS:
        raise ServiceError(422, f"a note is at most {MAX_NOTE_CHARS} characters")
    wanted = list(dict.fromkeys(mentions))
    if len(wanted) > MAX_MENTIONS:
        raise ServiceError(422, f"mention at most {MAX_MENTIONS} agents")
    found = {
        a.id: a
        for a in (
            await session.execute(
                select(Agent).where(col(Agent.id).in_(wanted), col(Agent.active).is_(True))
            )
        ).scalars()
    }
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ServiceError(422, f"no active agent with id {', '.join(map(str, unknown))}")
    assert conversation.id is not None
    now = utcnow()
    note = Message(
        conversation_id=conversation.id, channel_id=conversation.channel_id,
        direction=Direction.outbound.value, sender=Sender.agent.value, sender_agent_id=agent.id,
        type="note", text=text, status=MessageStatus.sent.value, created_at=now, updated_at=now,
        payload={"mentions": [{"id": i, "name": found[i].name} for i in wanted]},
    )  # fmt: skip
    session.add(note)
    await session.flush()
    for mentioned in wanted:
        if mentioned != agent.id:
            await grant(session, mentioned, conversation.id, note.id)
    conversation.updated_at = now
    await emit_message(session, EventType.message_created, note, conversation)
    return note
