"""Business-initiated messages: a business system writes to a customer, first or again.

`send_one` finds or makes the contact and the open conversation, checks consent, the template and
the 24-hour window *before* writing anything, then writes the message through the agents' path
(`outbound.write_message`: queued, its event, then the same send job with its retries, rate limit
and dead letters). An `Idempotency-Key` is recorded per API key in the same transaction as the
message, and the transaction takes the writers' lock before it looks the key up, so concurrent
repeats of one request find the first one's message and never write a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Team
from backend.bots.models import ConsentChange
from backend.channels.models import Channel
from backend.conversations import lifecycle
from backend.conversations.ingest import open_conversation, start_conversation
from backend.conversations.lifecycle import Move
from backend.conversations.models import Contact, Conversation, ConversationStatus, Message, Sender
from backend.conversations.outbound import Draft, window_open, write_message
from backend.conversations.views import conversation_json, iso
from backend.core.errors import ServiceError
from backend.db.engine import dialect_name, serialize_writes
from backend.db.types import utcnow
from backend.integrations.keys import ApiKeyPrincipal
from backend.integrations.models import ApiIdempotency
from backend.integrations.schemas import MessageRequest

_PHONE = re.compile(r"\d{6,15}")
_BSUID = re.compile(r"[A-Z]{2}\.\d{6,40}")


@dataclass
class SendOutcome:
    message: Message
    conversation: Conversation
    created: bool  # False when an earlier request with the same Idempotency-Key made it


@dataclass(frozen=True)
class Recipient:
    """Who `to` names: a phone number (`wa_id`) or a business-scoped user id (`user_id`)."""

    wa_id: str | None
    user_id: str | None


def recipient_of(to: str) -> Recipient:
    """`to` as digits (with an optional `+`, spaces and dashes) or a BSUID like `US.1349…`."""
    digits = re.sub(r"[\s\-().]", "", to).removeprefix("+")
    if _PHONE.fullmatch(digits):
        return Recipient(wa_id=digits, user_id=None)
    if _BSUID.fullmatch(to.strip()):
        return Recipient(wa_id=None, user_id=to.strip())
    raise ServiceError(
        422, "`to` must be a phone number in international form (6 to 15 digits) or a BSUID"
    )


def draft_of(request: MessageRequest) -> Draft:
    if (request.text is None) == (request.template is None):
        raise ServiceError(422, "give exactly one of text or template")
    if request.template is not None:
        return Draft.from_request({"template": check_template(request.template)})
    return Draft.from_request({"text": request.text})


def check_template(template: dict[str, object]) -> dict[str, object]:
    """The template object's shape as the Cloud API takes it; the approved library is consulted by
    the provider (the sandbox answers with Meta's error codes) until the desk keeps its own."""
    if not isinstance(template.get("name"), str) or not str(template["name"]).strip():
        raise ServiceError(422, "template.name must be the approved template's name")
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not isinstance(code, str) or not code:
        raise ServiceError(422, 'template.language must be a code like en_US or {"code": …}')
    components = template.get("components", [])
    if not isinstance(components, list) or not all(
        isinstance(c, dict) and isinstance(c.get("type"), str) for c in components
    ):
        raise ServiceError(422, "template.components must be a list of objects with a type")
    return template


async def _channel(session: AsyncSession, channel_id: int | None) -> Channel:
    query = select(Channel)
    query = (
        query.where(col(Channel.id) == channel_id)
        if channel_id is not None
        else query.where(col(Channel.is_default).is_(True))
    )
    channel = (await session.execute(query)).scalar_one_or_none()
    if channel is None:
        raise ServiceError(422, "no such channel" if channel_id else "no default channel")
    return channel


async def _contact(
    session: AsyncSession, channel_id: int, to: Recipient, name: str | None
) -> Contact:
    """The channel's contact for this number or BSUID, made on first contact (insert-or-ignore)."""
    key = (
        col(Contact.wa_id) == to.wa_id
        if to.wa_id is not None
        else col(Contact.user_id) == to.user_id
    )
    query = select(Contact).where(col(Contact.channel_id) == channel_id, key)
    contact = (await session.execute(query)).scalar_one_or_none()
    if contact is None:
        insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
        now = utcnow()
        await session.execute(
            insert(Contact)
            .values(channel_id=channel_id, wa_id=to.wa_id, user_id=to.user_id, name=name,
                    opted_out=False, created_at=now, updated_at=now)
            .on_conflict_do_nothing()
        )  # fmt: skip
        contact = (await session.execute(query)).scalar_one()
    elif name and not contact.name:
        contact.name = name
    return contact


async def _opt_out_reason(session: AsyncSession, contact: Contact) -> str:
    change = (
        await session.execute(
            select(ConsentChange)
            .where(col(ConsentChange.contact_id) == contact.id, col(ConsentChange.opted_out))
            .order_by(col(ConsentChange.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    how = f" ({change.source}{': ' + change.detail if change.detail else ''})" if change else ""
    when = f" on {iso(change.created_at)}" if change else ""
    return f"the customer opted out of messages{when}{how}: nothing was sent"


async def _team(session: AsyncSession, name: str) -> Team:
    team = (await session.execute(select(Team).where(col(Team.name) == name))).scalar_one_or_none()
    if team is None:
        raise ServiceError(422, f"no team named {name!r}")
    return team


async def _conversation(
    session: AsyncSession, channel: Channel, contact: Contact, team: Team | None
) -> Conversation:
    """The contact's open conversation, or a new one: waiting in `team`'s queue when one is named,
    else as any new conversation starts (with the channel's bot when it has one)."""
    existing = await open_conversation(session, contact)
    if existing is not None:
        return existing
    conversation = await start_conversation(session, channel, contact)
    if team is not None:
        await lifecycle.queue(session, conversation, team_id=team.id, announced=False)
    await session.flush()
    view = await conversation_json(session, conversation)
    await lifecycle.announce(session, Move.open, conversation, view=view)
    if conversation.status == ConversationStatus.queued.value:
        await lifecycle.announce(session, Move.queue, conversation, view=view)
    return conversation


async def _recorded(session: AsyncSession, key_id: int, idempotency_key: str) -> SendOutcome | None:
    record = await session.get(ApiIdempotency, (key_id, idempotency_key))
    if record is None:
        return None
    message = await session.get(Message, record.message_id)
    assert message is not None
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return SendOutcome(message, conversation, created=False)


async def _write(
    session: AsyncSession,
    key: ApiKeyPrincipal,
    request: MessageRequest,
    idempotency_key: str | None,
) -> SendOutcome:
    draft = draft_of(request)
    to = recipient_of(request.to)
    channel = await _channel(session, request.channel_id)
    team = await _team(session, request.team) if request.team else None
    assert channel.id is not None
    contact = await _contact(session, channel.id, to, request.name)
    if contact.opted_out:
        raise ServiceError(409, await _opt_out_reason(session, contact))
    if draft.kind != "template" and not window_open(contact):
        raise ServiceError(
            422,
            "the customer has not written in the last 24 hours: only a template can be sent",
        )
    conversation = await _conversation(session, channel, contact, team)
    message = await write_message(
        session, conversation, draft, sender=Sender.api, api_key_id=key.id,
        reference=request.reference,
    )  # fmt: skip
    if idempotency_key:
        assert message.id is not None
        session.add(ApiIdempotency(api_key_id=key.id, key=idempotency_key, message_id=message.id))
        await session.flush()
    return SendOutcome(message, conversation, created=True)


async def send_one(
    session: AsyncSession,
    key: ApiKeyPrincipal,
    request: MessageRequest,
    idempotency_key: str | None,
) -> SendOutcome:
    """One message in a savepoint of the caller's transaction: a refusal leaves nothing behind
    (not even a new contact), so a batch goes on with its next item."""
    await serialize_writes(session)
    if idempotency_key:
        found = await _recorded(session, key.id, idempotency_key)
        if found is not None:
            return found
    try:  # a savepoint rolled back takes the events it recorded with it (`realtime.events`)
        async with session.begin_nested():
            return await _write(session, key, request, idempotency_key)
    except IntegrityError:
        # Only reachable if the writers' lock was not held (it always is): the key's first use won.
        if idempotency_key and (found := await _recorded(session, key.id, idempotency_key)):
            return found
        raise
