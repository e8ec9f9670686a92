"""Storing a webhook batch: every message and status, exactly once, in one transaction.

Duplicates are dropped by the unique (channel, provider message id) constraint with an
insert-or-ignore, never by reading first, so two deliveries of one webhook racing each other still
store one message. A status for a message we have not stored yet is kept and applied when it appears.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.channels.base import (
    ContactSync,
    EchoMessage,
    InboundMessage,
    StatusUpdate,
    WebhookBatch,
)
from backend.channels.models import Channel
from backend.conversations import lifecycle
from backend.conversations.bulk_ingest import Claimants, Entry, inbound_values, store_plain
from backend.conversations.bulk_ingest import IngestResult as IngestResult
from backend.conversations.bulk_statuses import (
    FAILED_FROM,
    STATUS_RANK,
    StatusEntry,
    apply_statuses,
    changes_of,
    moves_forward,
)
from backend.conversations.emit import emit_message
from backend.conversations.lifecycle import Move
from backend.conversations.limits import within_limits
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    PendingStatus,
    Sender,
)
from backend.conversations.views import conversation_json
from backend.db.engine import dialect_name, insert_for, serialize_writes
from backend.db.types import utcnow
from backend.realtime.events import record_events
from backend.realtime.types import EventType

# A reply router may claim a customer message for an existing (even resolved) conversation before
# ingest opens a new one: a survey's answer belongs to the surveyed conversation and must not
# reopen anything. Routers are registered by domain modules (see backend.surveys.hooks).
# With each router comes its `Claimants`: the customers of a set whose messages it may claim, in
# one query, so that the set-based path (bulk_ingest) leaves only those to the router.
ReplyRouter = Callable[
    [AsyncSession, Contact, InboundMessage, "Conversation | None"], Awaitable["Conversation | None"]
]
_REPLY_ROUTERS: list[ReplyRouter] = []
_CLAIMANTS: list[Claimants] = []

start_conversation = lifecycle.start  # integrations/sending.py opens its conversations by this name


def reply_router(router: ReplyRouter, claimants: Claimants) -> None:
    if router not in _REPLY_ROUTERS:
        _REPLY_ROUTERS.append(router)
        _CLAIMANTS.append(claimants)


async def _routed_reply(
    session: AsyncSession, contact: Contact, inbound: InboundMessage, open_: Conversation | None
) -> Conversation | None:
    for router in _REPLY_ROUTERS:
        target = await router(session, contact, inbound, open_)
        if target is not None:
            return target
    return None


async def upsert_contact(
    session: AsyncSession, channel_id: int, inbound: InboundMessage | EchoMessage | ContactSync
) -> Contact:
    """The customer's one contact: found by phone number, else by BSUID; created or linked.

    A person first seen by BSUID alone (a username, no number) and later by both is one contact:
    the number is added, and a number-only contact made before BSUIDs existed absorbs the
    BSUID-only one. The phone number is the stronger key: a BSUID already held by a contact with
    another number stays where it is.
    """
    keys = [col(Contact.wa_id) == inbound.wa_id] if inbound.wa_id else []
    keys += [col(Contact.user_id) == inbound.user_id] if inbound.user_id else []
    query = select(Contact).where(col(Contact.channel_id) == channel_id, or_(*keys))
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()  # one writer per contact: no second open conversation
    by_phone, by_bsuid = _classify(list((await session.execute(query)).scalars()), inbound)
    if by_phone is None and (by_bsuid is None or (inbound.wa_id and by_bsuid.wa_id)):
        # New customer: insert-or-ignore, so a racing webhook for them cannot make a second row.
        taken = by_bsuid is not None  # the BSUID is held by a contact with another number
        statement = (
            insert_for(session, Contact)
            .values(channel_id=channel_id, wa_id=inbound.wa_id,
                    user_id=None if taken else inbound.user_id, name=inbound.contact_name,
                    created_at=utcnow(), updated_at=utcnow(), opted_out=False)
            .on_conflict_do_nothing()
        )  # fmt: skip
        await session.execute(statement)
        by_phone, by_bsuid = _classify(list((await session.execute(query)).scalars()), inbound)
    contact = by_phone or by_bsuid
    assert contact is not None
    if by_phone is not None and by_bsuid is not None and by_bsuid is not by_phone:
        if by_bsuid.wa_id is None:
            await _merge_contact(session, into=by_phone, other=by_bsuid)
    elif inbound.user_id and by_bsuid is None:
        contact.user_id = inbound.user_id  # first seen with its BSUID
    if inbound.wa_id and contact.wa_id is None:
        contact.wa_id = inbound.wa_id
    contact.parent_user_id = inbound.parent_user_id or contact.parent_user_id
    contact.username = inbound.username or contact.username
    if inbound.contact_name and contact.name != inbound.contact_name:
        contact.name = inbound.contact_name
    # The window runs from the customer's own messages; the business's echoes never open it.
    customer_wrote = isinstance(inbound, InboundMessage)
    if customer_wrote and (
        contact.last_inbound_at is None or inbound.timestamp > contact.last_inbound_at
    ):
        contact.last_inbound_at = inbound.timestamp
    contact.updated_at = utcnow()
    return contact


def _classify(
    found: list[Contact], inbound: InboundMessage | EchoMessage | ContactSync
) -> tuple[Contact | None, Contact | None]:
    """(the contact with this phone number, the contact with this BSUID), either may be None."""
    by_phone = next((c for c in found if inbound.wa_id and c.wa_id == inbound.wa_id), None)
    by_bsuid = next((c for c in found if inbound.user_id and c.user_id == inbound.user_id), None)
    return by_phone, by_bsuid


async def _merge_contact(session: AsyncSession, *, into: Contact, other: Contact) -> None:
    """Moves `other`'s conversations to `into` and frees its identifiers; `other` stays, empty.

    Two open conversations become one: `other`'s messages join `into`'s open conversation and its
    own is resolved, so the one-open-conversation rule holds.
    """
    kept, moved = await open_conversation(session, into), await open_conversation(session, other)
    if kept is not None and moved is not None:
        await session.execute(
            update(Message).where(col(Message.conversation_id) == moved.id)
            .values(conversation_id=kept.id).execution_options(synchronize_session=False)
        )  # fmt: skip
        moved.status = ConversationStatus.resolved.value
        moved.resolved_at = moved.updated_at = utcnow()
        moved.last_message_id = None
        await session.flush()
    await session.execute(
        update(Conversation).where(col(Conversation.contact_id) == other.id)
        .values(contact_id=into.id).execution_options(synchronize_session=False)
    )  # fmt: skip
    user_id, name, username = other.user_id, other.name, other.username
    other.wa_id = other.user_id = None  # freed first: the unique keys are checked row by row
    other.updated_at = utcnow()
    await session.flush()
    into.user_id = into.user_id or user_id
    into.name, into.username = into.name or name, into.username or username
    if kept is None and moved is not None:
        await session.refresh(moved)


async def open_conversation(session: AsyncSession, contact: Contact) -> Conversation | None:
    query = select(Conversation).where(
        col(Conversation.contact_id) == contact.id,
        col(Conversation.status) != ConversationStatus.resolved.value,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _insert_message(session: AsyncSession, values: dict[str, Any]) -> Message | None:
    """The stored message, or None for a duplicate; one statement, the row comes back with it."""
    statement = (
        insert_for(session, Message)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel_id", "provider_message_id"])
        .returning(Message)
    )
    result = await session.execute(select(Message).from_statement(statement))
    return result.scalar_one_or_none()


async def store_inbound(
    session: AsyncSession, channel: Channel, inbound: InboundMessage, result: IngestResult
) -> None:
    assert channel.id is not None
    contact = await upsert_contact(session, channel.id, inbound)
    if inbound.type == "system":
        contact = await _follow_number_change(session, contact, inbound.payload)
    existing = await open_conversation(session, contact)
    existing = await _routed_reply(session, contact, inbound, existing) or existing
    # A `system` message (the customer changed number) is WhatsApp speaking, not the customer.
    sender = Sender.system.value if inbound.type == "system" else Sender.customer.value

    def values(conversation: Conversation) -> dict[str, Any]:
        assert channel.id is not None
        return inbound_values(inbound, channel.id, conversation.id, sender, utcnow())

    if existing is not None:
        conversation = existing
        message = await _insert_message(session, values(conversation))
    else:
        # A savepoint only when a conversation is opened: a duplicate must not leave one behind.
        async with session.begin_nested() as savepoint:
            conversation = await lifecycle.start(
                session, channel, contact, referral=inbound.payload.get("referral")
            )
            message = await _insert_message(session, values(conversation))
            if message is None:
                await savepoint.rollback()
    if message is None:
        result.duplicates += 1  # a duplicate: nothing of it is kept
        return
    assert message.id is not None
    message_id = message.id
    conversation.last_message_id = message_id
    conversation.last_activity_at = conversation.updated_at = utcnow()
    conversation.unread_count += 1
    opened = None
    if existing is None:
        # Built once, from what is in hand, for both events of a new conversation.
        view = await conversation_json(session, conversation, new=True)
        opened = lifecycle.opened(conversation, view)
        await record_events(session, opened.before)
    await emit_message(session, EventType.message_created, message, conversation)
    if sender == Sender.customer.value and conversation.status == ConversationStatus.snoozed.value:
        await lifecycle.wake(session, conversation, "customer")  # the customer wrote: it is over
    if opened is not None:
        await record_events(session, opened.after)
        if opened.queued_team_id is not None:
            result.queued_team_ids.add(opened.queued_team_id)
    result.stored.append(message_id)


async def _follow_number_change(
    session: AsyncSession, contact: Contact, system: dict[str, Any]
) -> Contact:
    """`user_changed_number`: the customer is the same person on a new number, so the contact
    moves there (the system message in the thread is the note saying so). When the new number
    already has a contact, that one absorbs this one: one contact per person."""
    new_wa_id = system.get("wa_id")
    if system.get("type") != "user_changed_number" or not isinstance(new_wa_id, str):
        return contact
    new_wa_id = re.sub(r"\D", "", new_wa_id)
    if not new_wa_id or new_wa_id == contact.wa_id or len(new_wa_id) > 32:
        return contact
    holder = (
        await session.execute(
            select(Contact).where(
                col(Contact.channel_id) == contact.channel_id, col(Contact.wa_id) == new_wa_id
            )
        )
    ).scalar_one_or_none()
    contact.updated_at = utcnow()
    if holder is None:
        contact.wa_id = new_wa_id
        await session.flush()
        return contact
    await _merge_contact(session, into=holder, other=contact)
    holder.last_inbound_at = max(
        (t for t in (holder.last_inbound_at, contact.last_inbound_at) if t), default=None
    )
    holder.updated_at = utcnow()
    await session.flush()
    return holder


async def store_contact_sync(
    session: AsyncSession, channel: Channel, sync: ContactSync, result: IngestResult
) -> None:
    """A contact of the business's phone book: made or renamed with the business's own name for
    them. A removal from the phone keeps the contact: its conversations are the desk's history."""
    assert channel.id is not None
    if sync.action == "remove":
        return
    await upsert_contact(session, channel.id, sync)
    result.contacts_synced += 1


async def store_echo(
    session: AsyncSession, channel: Channel, echo: EchoMessage, result: IngestResult
) -> None:
    """The business typed on its phone: an outbound `business_app` message, an edit or a delete.

    It counts as a human reply (first response, SLA). Edits keep the old text in
    `payload.edits`; a revoke sets `payload.deleted`. Each echo's own wamid is remembered, so a
    retried webhook changes nothing twice.
    """
    assert channel.id is not None
    if echo.action in ("edit", "revoke"):
        await _change_by_echo(session, channel.id, echo, result)
        return
    contact = await upsert_contact(session, channel.id, echo)
    conversation = await open_conversation(session, contact)
    opened = conversation is None
    now = utcnow()
    values = {
        "channel_id": channel.id, "direction": Direction.outbound.value,
        "sender": Sender.business_app.value, "type": echo.type, "text": echo.text,
        "payload": echo.payload, "status": MessageStatus.sent.value,
        "provider_message_id": echo.provider_message_id, "provider_timestamp": echo.timestamp,
        "attempts": 0, "created_at": now, "updated_at": now,
    }  # fmt: skip
    async with session.begin_nested() as savepoint:
        if conversation is None:
            conversation = await lifecycle.start(session, channel, contact)
        message = await _insert_message(session, {**values, "conversation_id": conversation.id})
        if message is None:
            await savepoint.rollback()
    if message is None:
        result.duplicates += 1
        return
    if opened:  # created only, never `conversation.queued` (a customer's new one announces both)
        await lifecycle.announce(session, Move.open, conversation)
    conversation.last_message_id = message.id
    conversation.first_response_at = conversation.first_response_at or now
    conversation.last_activity_at = conversation.updated_at = now
    await session.flush()
    await emit_message(session, EventType.message_created, message, conversation)
    assert message.id is not None
    result.stored.append(message.id)


async def _change_by_echo(
    session: AsyncSession, channel_id: int, echo: EchoMessage, result: IngestResult
) -> None:
    message = (
        await session.execute(
            select(Message).where(
                col(Message.channel_id) == channel_id,
                col(Message.provider_message_id) == echo.original_id,
            )
        )
    ).scalar_one_or_none()
    if message is None:
        result.echoes_unmatched += 1  # the original is older than this desk: nothing to change
        return
    payload = dict(message.payload or {})
    applied = list(payload.get("echo_ids") or [])
    if echo.provider_message_id in applied:
        result.duplicates += 1
        return
    payload["echo_ids"] = [*applied, echo.provider_message_id]
    at = echo.timestamp.isoformat()
    if echo.action == "edit":
        edits = list(payload.get("edits") or [])
        edits.append({"text": message.text, "type": message.type, "replaced_at": at})
        new = {k: v for k, v in echo.payload.items() if k not in ("edits", "echo_ids")}
        payload = {**payload, **new, "edits": edits}
        message.text, message.type = echo.text, echo.type
    else:
        payload["deleted"] = {"at": at, "text": message.text}
    message.payload = payload
    message.updated_at = utcnow()
    await session.flush()
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    await emit_message(session, EventType.message_updated, message, conversation)


async def _claim_by_callback(
    session: AsyncSession, channel_id: int, update_: StatusUpdate
) -> Message | None:
    """A status for a send whose answer we never read (the worker died): our key names the message."""
    match = re.fullmatch(r"sb-(\d+)", update_.callback_data or "")
    if match is None:
        return None
    message = await session.get(Message, int(match.group(1)))
    if (
        message is None
        or message.channel_id != channel_id
        or message.provider_message_id is not None
    ):
        return None
    message.provider_message_id = update_.provider_message_id
    await session.flush()
    return message


async def apply_status(
    session: AsyncSession, channel_id: int, update_: StatusUpdate | PendingStatus
) -> bool | None:
    """True when the message moved forward, False when it was stale, None when it is unknown."""
    provider_id = update_.provider_message_id
    await serialize_writes(session)  # a send recording this wamid and this status see each other
    message = (
        await session.execute(
            select(Message).where(
                col(Message.channel_id) == channel_id,
                col(Message.provider_message_id) == provider_id,
            )
        )
    ).scalar_one_or_none()
    if message is None and isinstance(update_, StatusUpdate):
        message = await _claim_by_callback(session, channel_id, update_)
    if message is None:
        return None
    allowed = [s for s in (*STATUS_RANK, *FAILED_FROM) if moves_forward(s, update_.status)]
    if not allowed:
        return False
    values = changes_of(update_)
    moved = await session.execute(
        update(Message)
        .where(col(Message.id) == message.id, col(Message.status).in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        return False
    await session.refresh(message)
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    await emit_message(session, EventType.message_status, message, conversation)
    return True


async def apply_pending_statuses(
    session: AsyncSession, channel_id: int, provider_message_id: str
) -> int:
    """Called once a send records its wamid: statuses that raced ahead of it are applied now."""
    pending = list(
        (
            await session.execute(
                select(PendingStatus)
                .where(
                    col(PendingStatus.channel_id) == channel_id,
                    col(PendingStatus.provider_message_id) == provider_message_id,
                )
                .order_by(col(PendingStatus.id))
            )
        ).scalars()
    )
    applied = 0
    for row in sorted(pending, key=lambda p: STATUS_RANK.get(p.status, 9)):
        applied += bool(await apply_status(session, channel_id, row))
        await session.delete(row)
    return applied


async def store_status(
    session: AsyncSession, channel: Channel, status: StatusUpdate, result: IngestResult
) -> None:
    assert channel.id is not None
    outcome = await apply_status(session, channel.id, status)
    if outcome is None:
        session.add(PendingStatus(
            channel_id=channel.id, provider_message_id=status.provider_message_id,
            status=status.status, error_code=status.error_code, error_title=status.error_title,
        ))  # fmt: skip
        result.statuses_pending += 1
    elif outcome:
        result.statuses_applied += 1


async def ingest_batch(
    session: AsyncSession, channels: dict[str, Channel], batch: WebhookBatch
) -> IngestResult:
    """Stores the whole batch in the caller's transaction; the caller commits, then answers 200."""
    return (await ingest_batches(session, [(channels, batch)]))[0]


async def ingest_batches(
    session: AsyncSession, batches: list[tuple[dict[str, Channel], WebhookBatch]]
) -> list[IngestResult]:
    """Stores several webhooks' batches together (a commit group's), one result for each.

    Plain customer messages go set-based (`bulk_ingest`), the rest message by message here;
    then each batch's echoes, statuses and contact syncs, in the order they happened.

    No writers' lock for the whole transaction (two web processes ingest side by side): the set
    locks its contacts and messages in id order, unique keys catch what another process inserts
    meanwhile (`Raced`: each webhook is then stored alone), and what rests on a read that another
    writer could change takes the lock itself (`apply_status`, for a status whose message is not
    stored yet, against a send recording its wamid)."""
    results = [IngestResult() for _ in batches]
    entries = [
        Entry(index, channels[inbound.phone_number_id], within_limits(inbound))
        for index, (channels, batch) in enumerate(batches)
        for _, inbound in sorted(
            enumerate(batch.messages), key=lambda pair: (pair[1].timestamp, pair[0])
        )
    ]
    exact, snoozed, events = await store_plain(session, entries, _CLAIMANTS, results)
    await record_events(session, events)
    await lifecycle.wake_all(session, snoozed, "customer")  # the customers wrote: they are over
    for entry in exact:
        await store_inbound(session, entry.channel, entry.inbound, results[entry.index])
    for (channels, batch), result in zip(batches, results, strict=True):
        for echo in sorted(batch.echoes, key=lambda e: (e.timestamp, e.action != "send")):
            await store_echo(session, channels[echo.phone_number_id], within_limits(echo), result)
    statuses = [
        StatusEntry(channels[s.phone_number_id], s, result)
        for (channels, batch), result in zip(batches, results, strict=True)
        for s in sorted(batch.statuses, key=lambda s: (s.timestamp, STATUS_RANK.get(s.status, 9)))
    ]
    left, status_events = await apply_statuses(session, statuses)
    await record_events(session, status_events)
    for unknown in left:
        await store_status(session, unknown.channel, unknown.update, unknown.result)
    for (channels, batch), result in zip(batches, results, strict=True):
        for sync in sorted(batch.contact_syncs, key=lambda c: c.timestamp):
            await store_contact_sync(session, channels[sync.phone_number_id], sync, result)
    await session.flush()
    return results
