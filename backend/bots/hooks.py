"""After-commit: every stored customer message asks the worker for a bot step.

The hook cannot see the conversation's status (it only has the event), and must stay quick, so it
enqueues unconditionally; the job decides (bot answers, a consent keyword, a wait notice, or
nothing when a human holds the chat). The job id is the message's, so duplicates collapse.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from backend.bots.jobs import BOT_STEP_JOB, BOT_UNDELIVERED_JOB
from backend.core.hooks import on_events
from backend.realtime.models import Event


@on_events
async def step_on_customer_message(queue: ArqRedis, events: list[Event]) -> None:
    for event in events:
        if event.type != "message.created" or event.conversation_id is None:
            continue
        message = event.data.get("message") or {}
        if message.get("direction") != "inbound" or message.get("sender") != "customer":
            continue
        await queue.enqueue_job(
            BOT_STEP_JOB, event.conversation_id, message["id"], _job_id=f"bot:{message['id']}"
        )


@on_events
async def hand_off_when_a_bot_message_fails(queue: ArqRedis, events: list[Event]) -> None:
    """A bot that cannot reach the customer (a permanent send error) must not keep the chat."""
    for event in events:
        if event.type != "message.status" or event.conversation_id is None:
            continue
        message = event.data.get("message") or {}
        if message.get("sender") == "bot" and message.get("status") in ("failed", "dead"):
            await queue.enqueue_job(
                BOT_UNDELIVERED_JOB, event.conversation_id, message["id"],
                _job_id=f"bot-undelivered:{message['id']}",
            )  # fmt: skip
