"""Reactions: stored customer messages ask the worker for a bot step, one per conversation.

The reaction cannot see the conversation's status (it only has the events), and must stay quick,
so it enqueues unconditionally; the job decides (bot answers, a consent keyword, a wait notice,
or nothing when a human holds the chat). One job covers every message of the conversation in the
batch of events (a webhook of 10,000 messages asks for one step per conversation, not 10,000);
its id names the batch's messages, so a repeated batch collapses.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from backend.bots.jobs import BOT_STEP_JOB, BOT_UNDELIVERED_JOB
from backend.core.hooks import on_events
from backend.realtime.models import Event


@on_events
async def step_on_customer_message(queue: ArqRedis, events: list[Event]) -> None:
    spans: dict[int, tuple[int, int]] = {}  # conversation -> (first, last) customer message
    for event in events:
        if event.type != "message.created" or event.conversation_id is None:
            continue
        message = event.data.get("message") or {}
        if message.get("direction") != "inbound" or message.get("sender") != "customer":
            continue
        first, last = spans.get(event.conversation_id, (message["id"], message["id"]))
        spans[event.conversation_id] = (min(first, message["id"]), max(last, message["id"]))
    for conversation_id, (first, last) in spans.items():
        await queue.enqueue_job(
            BOT_STEP_JOB, conversation_id, first, last, _job_id=f"bot:{first}:{last}"
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
