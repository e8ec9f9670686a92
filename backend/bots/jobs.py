"""The worker side of the bot: one `bot_step` job per customer message, serialized per chat."""

from __future__ import annotations

from typing import Any

from backend.bots.services import hand_off_undelivered, process_messages
from backend.conversations.outbound import enqueue_send
from backend.core.context import AppContext
from backend.realtime.events import commit_and_publish

BOT_STEP_JOB = "bot_step"
BOT_UNDELIVERED_JOB = "bot_undelivered"


async def bot_step(
    ctx: dict[str, Any], conversation_id: int, message_id: int, until_id: int | None = None
) -> int:
    """Answers the conversation's new customer messages; returns how many it looked at.

    A per-conversation Redis lock keeps two jobs of one chat from interleaving, and the state's
    `last_message_id` makes a re-run (arq is at-least-once) or a job that finds its message
    already handled by an earlier job a no-op. Everything is written in one transaction; sends and
    auto-assign (a reaction to `conversation.queued`) follow the commit.
    """
    app: AppContext = ctx["app"]
    lock = app.redis.lock(f"switchboard:bot:{conversation_id}", timeout=30, blocking_timeout=30)
    async with lock, app.sessions() as session:
        outcome = await process_messages(
            session, app.settings, conversation_id, message_id, until_id
        )
        await commit_and_publish(session, app.redis)
    if outcome.sends:
        # The conversation's messages leave in order: each one hands on the next when it settles.
        await enqueue_send(app.queue, min(outcome.sends), "bot")
    return outcome.processed


async def bot_undelivered(ctx: dict[str, Any], conversation_id: int, message_id: int) -> bool:
    """A bot message failed for good: the conversation goes to its team's queue with a note.

    Idempotent: a second run finds the conversation no longer with the bot and does nothing.
    """
    app: AppContext = ctx["app"]
    lock = app.redis.lock(f"switchboard:bot:{conversation_id}", timeout=30, blocking_timeout=30)
    async with lock, app.sessions() as session:
        outcome = await hand_off_undelivered(session, app.settings, conversation_id, message_id)
        await commit_and_publish(session, app.redis)
    return bool(outcome.processed)  # auto-assign reacts to the handoff's conversation.queued
