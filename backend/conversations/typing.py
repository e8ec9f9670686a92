"""The typing indicator: while the holder types a reply, the customer sees "typing…".

WhatsApp shows it for up to 25 s or until our next message, so it is asked for at most once per
20 s per conversation (a Redis key with that lifetime, shared by every web process); nothing is
sent when the channel has it switched off, when no customer message can carry it (it rides on a
read receipt for their newest message), or outside the 24-hour window.
"""

from __future__ import annotations

import time
from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.channels.models import Channel
from backend.conversations.models import Contact, ConversationStatus, Direction, Message
from backend.conversations.visibility import get_visible
from backend.core.context import SEND_QUEUE
from backend.core.errors import ServiceError
from backend.db.types import utcnow

TYPING_EVERY_SECONDS = 20
TYPING_JOB = "show_typing"
WINDOW = timedelta(hours=24)


async def request_typing(
    session: AsyncSession, redis: Redis, queue: ArqRedis, agent: CurrentAgent, conversation_id: int
) -> bool:
    """True when a typing indicator was asked of the worker now."""
    conversation = await get_visible(session, agent, conversation_id)
    if (
        conversation.status != ConversationStatus.assigned.value
        or conversation.assignee_id != agent.id
    ):
        raise ServiceError(409, "only the agent who holds the conversation types to the customer")
    channel = await session.get(Channel, conversation.channel_id)
    contact = await session.get(Contact, conversation.contact_id)
    if channel is None or not channel.typing_indicator or contact is None:
        return False
    if contact.last_inbound_at is None or utcnow() - contact.last_inbound_at > WINDOW:
        return False
    newest = (
        await session.execute(
            select(col(Message.id))
            .where(
                col(Message.conversation_id) == conversation_id,
                col(Message.direction) == Direction.inbound.value,
                col(Message.provider_message_id).is_not(None),
            )
            .order_by(col(Message.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if newest is None:
        return False
    if not await redis.set(f"switchboard:typing:{conversation_id}", "1", nx=True,
                           ex=TYPING_EVERY_SECONDS):  # fmt: skip
        return False  # shown less than 20 s ago: still on the customer's screen
    slot = int(time.time() // TYPING_EVERY_SECONDS)
    await queue.enqueue_job(TYPING_JOB, newest, _job_id=f"typing:{conversation_id}:{slot}",
                            _queue_name=SEND_QUEUE)  # fmt: skip
    return True
