"""Agents' replies: written first (with their Idempotency-Key), then sent by the worker.

The request stores the message as `queued` and its event in one transaction; the send job is
enqueued after the commit. If Redis is down at that moment the message is still in the database,
and the worker's reconcile job enqueues it when Redis is back: a written message is always sent or
visibly failed, never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.channels.sandbox.validation import interactive_problem
from backend.conversations.emit import emit_message
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    Sender,
)
from backend.conversations.views import SERVICE_WINDOW
from backend.conversations.visibility import get_visible
from backend.core.context import SEND_QUEUE
from backend.core.errors import ServiceError
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.media.kinds import MEDIA_KINDS
from backend.media.uploads import attach_upload, draft_media
from backend.realtime.types import EventType
from backend.templates.services import (
    CheckedTemplate,
    TemplateError,
    record_template_send,
    validate_template_send,
)

log = get_logger(__name__)

SEND_JOB = "send_message"


@dataclass(frozen=True)
class Draft:
    """What an agent (or a bot, or a survey) wants to send: a Cloud API message type and object."""

    kind: str  # text | interactive | template | image | audio | video | document | sticker
    body: dict[str, Any]
    text: str | None

    @classmethod
    def from_request(cls, data: dict[str, Any]) -> Draft:
        present = [key for key in ("text", "interactive", "template") if data.get(key) is not None]
        if len(present) != 1:
            raise ServiceError(422, "give exactly one of text, interactive or template")
        kind = present[0]
        value = data[kind]
        if kind == "text":
            if not isinstance(value, str) or not value.strip():
                raise ServiceError(422, "text must be a non-empty string")
            if len(value) > 4096:
                raise ServiceError(422, "text is longer than WhatsApp's 4096 characters")
            return cls("text", {"body": value, "preview_url": False}, value)
        if not isinstance(value, dict):
            raise ServiceError(422, f"{kind} must be an object")
        if kind == "interactive":
            if value.get("type") not in (
                "button",
                "list",
                "cta_url",
                "product",
                "product_list",
                "flow",
            ):
                raise ServiceError(
                    422,
                    "interactive.type must be button, list, cta_url, product, product_list or flow",
                )
            problem = interactive_problem(value)
            if problem is not None:
                raise ServiceError(422, f"interactive: {problem}")
            body = value.get("body")
            body_text = body.get("text") if isinstance(body, dict) else None
            return cls("interactive", value, body_text if isinstance(body_text, str) else None)
        if not value.get("name") or not isinstance(value.get("language"), dict | str):
            raise ServiceError(422, "template needs a name and a language")
        language = value["language"]
        template = {
            **value,
            "language": {"code": language} if isinstance(language, str) else language,
        }
        return cls("template", template, f"[template {value['name']}]")


async def _checked_template(
    session: AsyncSession, channel_id: int, body: dict[str, Any]
) -> CheckedTemplate:
    """A template send is checked against the channel's library before it is written, so a
    mistake is a 422 now rather than a failed message later (Meta's 132000 and friends)."""
    try:
        return await validate_template_send(session, channel_id, body)
    except TemplateError as error:
        raise ServiceError(error.status, error.detail) from None


def window_open(contact: Contact) -> bool:
    return (
        contact.last_inbound_at is not None and utcnow() - contact.last_inbound_at < SERVICE_WINDOW
    )


async def _existing(session: AsyncSession, conversation_id: int, key: str) -> Message | None:
    query = select(Message).where(
        col(Message.conversation_id) == conversation_id, col(Message.idempotency_key) == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def write_message(
    session: AsyncSession,
    conversation: Conversation,
    draft: Draft,
    *,
    sender: Sender,
    agent_id: int | None = None,
    idempotency_key: str | None = None,
    api_key_id: int | None = None,
    reference: str | None = None,
) -> Message:
    """Stores a queued outbound message and its event in the caller's transaction."""
    assert conversation.id is not None
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    if draft.kind != "template" and not window_open(contact):
        raise ServiceError(
            422, "the 24-hour customer-service window is closed: only a template can be sent"
        )
    checked = None
    if draft.kind == "template":
        checked = await _checked_template(session, conversation.channel_id, draft.body)
        draft = Draft("template", draft.body, checked.text)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id, channel_id=conversation.channel_id,
        direction=Direction.outbound.value, sender=sender.value, sender_agent_id=agent_id,
        type=draft.kind, text=draft.text, payload=draft.body, status=MessageStatus.queued.value,
        idempotency_key=idempotency_key, sender_api_key_id=api_key_id, reference=reference,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(message)
    await session.flush()
    if checked is not None:
        assert message.id is not None
        await record_template_send(session, message.id, checked)
    if draft.kind in MEDIA_KINDS and "upload_id" in draft.body:
        await attach_upload(session, message)  # before the event, which shows the file
    conversation.last_message_id = message.id
    conversation.last_activity_at = conversation.updated_at = now
    if sender == Sender.agent and conversation.first_response_at is None:
        conversation.first_response_at = now
    await session.flush()
    await emit_message(session, EventType.message_created, message, conversation)
    return message


async def agent_reply(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, data: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[Message, bool]:  # fmt: skip
    """Returns the message and whether it is new; the same key returns the same message."""
    conversation = await get_visible(session, agent, conversation_id)
    if idempotency_key:
        found = await _existing(session, conversation_id, idempotency_key)
        if found is not None:
            return _replayed(found, agent), False
    if (
        conversation.status != ConversationStatus.assigned.value
        or conversation.assignee_id != agent.id
    ):
        raise ServiceError(
            409, "only the agent who holds the conversation may reply: claim it first"
        )
    if data.get("media") is not None:  # an uploaded file (POST /api/v1/uploads)
        if any(data.get(key) is not None for key in ("text", "interactive", "template")):
            raise ServiceError(422, "give exactly one of text, interactive, template or media")
        draft = Draft(*await draft_media(session, data["media"]))
    else:
        draft = Draft.from_request(data)
    try:
        async with session.begin_nested():
            message = await write_message(
                session, conversation, draft, sender=Sender.agent, agent_id=agent.id,
                idempotency_key=idempotency_key,
            )  # fmt: skip
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its message.
        assert idempotency_key is not None
        await session.rollback()
        found = await _existing(session, conversation_id, idempotency_key)
        if found is None:
            raise
        return _replayed(found, agent), False
    return message, True


def _replayed(found: Message, agent: CurrentAgent) -> Message:
    """A key is the sender's own: replaying it returns their message; a colleague's key (or the
    bot's) is a 409 and shows nothing of the message it names."""
    if found.sender != Sender.agent.value or found.sender_agent_id != agent.id:
        raise ServiceError(
            409, "this Idempotency-Key was used by another sender in this conversation"
        )
    return found


# arq takes the due jobs of a queue lowest score (due time) first: an urgent send is filed as
# due this long ago, so it goes before every automated send already waiting.
URGENT_LEAD = timedelta(hours=1)
SEND_JOB_EXPIRES = timedelta(days=1)


async def enqueue_send(
    queue: ArqRedis, message_id: int, attempt: int | str = 0, delay: float | None = None,
    *, urgent: bool = False,
) -> bool:  # fmt: skip
    """Asks the worker to send; False when Redis is unreachable (reconcile will pick it up).

    The job id names the attempt (or its cause), so a duplicate enqueue of the same attempt is
    dropped by arq while a manual retry or a kick after the previous message is a new job; the
    send lease makes any duplicate that slips through harmless. `urgent` (a person wrote it and
    waits: an agent's reply, a manual retry) puts it ahead of bot and survey sends.
    """
    due = (utcnow() - URGENT_LEAD) if urgent and not delay else None
    try:
        await queue.enqueue_job(
            SEND_JOB, message_id, _job_id=f"send:{message_id}:{attempt}", _queue_name=SEND_QUEUE,
            _defer_by=timedelta(seconds=delay) if delay else None, _defer_until=due,
            _expires=SEND_JOB_EXPIRES + (timedelta(seconds=delay) if delay else timedelta(0)),
        )  # fmt: skip
        return True
    except Exception as error:
        log.warning(
            "enqueue failed; reconcile will retry",
            message_id=message_id,
            error=type(error).__name__,
        )
        return False


async def retry_message(session: AsyncSession, agent: CurrentAgent, message_id: int) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.direction != Direction.outbound.value:
        raise ServiceError(404, "no such outbound message")
    conversation = await get_visible(session, agent, message.conversation_id)
    if not agent.is_lead and conversation.assignee_id != agent.id:
        raise ServiceError(403, "only the assignee or a lead may retry this message")
    if message.status not in (MessageStatus.failed.value, MessageStatus.dead.value):
        raise ServiceError(
            409, f"only a failed or dead message can be retried (this one is {message.status})"
        )
    message.status = MessageStatus.queued.value
    message.attempts = 0
    message.next_attempt_at = None
    message.lease_until = None
    message.updated_at = utcnow()
    await session.flush()
    await emit_message(session, EventType.message_status, message, conversation)
    return message


MARK_READ_JOB = "mark_read"


async def mark_conversation_read(
    session: AsyncSession, agent: CurrentAgent, conversation: Conversation
) -> int | None:
    """Clears the unread count; returns the newest inbound message id to mark read at WhatsApp.

    Only the holder (or a lead) may: the customer sees blue ticks, which must mean that the
    agent answering them has read it, not that a colleague glanced at the queue."""
    if not (agent.is_lead or conversation.assignee_id == agent.id):
        raise ServiceError(
            403, "only the agent who holds the conversation, or a lead, may mark it read"
        )
    newest: int | None = (
        await session.execute(
            select(col(Message.id))
            .where(
                col(Message.conversation_id) == conversation.id,
                col(Message.direction) == Direction.inbound.value,
            )
            .order_by(col(Message.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    conversation.unread_count = 0
    if newest is None or (conversation.last_read_message_id or 0) >= newest:
        return None
    conversation.last_read_message_id = newest
    return newest


async def enqueue_mark_read(queue: ArqRedis, message_id: int) -> None:
    try:
        await queue.enqueue_job(
            MARK_READ_JOB, message_id, _job_id=f"read:{message_id}", _queue_name=SEND_QUEUE
        )
    except Exception as error:
        log.warning("mark-read enqueue failed", error=type(error).__name__)
