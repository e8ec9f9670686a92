"""Customer messages stored a whole set at a time: a few statements per set, not ~15 per message.

Most of what arrives is plain: a customer known by their phone number writes into their open
conversation, or opens one. For those, every webhook of a commit group (`db.group_commit`) is
stored together: one read of the messages already stored (duplicates), one of the contacts, one
of their open conversations, one per reply router; then one insert of the new contacts, one of the
new conversations (`lifecycle.start_all`: what a new conversation is, and the events it announces,
are the lifecycle's rule, the same on the exact path), one multi-row insert-or-ignore of the
messages, the contacts' and conversations' updates as executemany, and every event in one insert,
built from the values in hand (no re-read of a row just written).

Everything else takes the exact path of `ingest.store_inbound`, message by message, after this
one: a customer known only by BSUID or whose identifiers sit on two contacts (a merge), a changed
number, and a message a reply router may claim (a survey's answer). The split is by person: when
one message of a customer needs the exact path, all of theirs in the set take it, so each
customer's messages are still stored in order. Every read happens before any write, so a message
moved to the exact path has left nothing behind here.

A race that only another process can cause (its contact or message committed between our read
and our insert) raises `Raced`: the group commit then stores each webhook alone, or runs a group
of one again (`db.group_commit`), and the new read sees the other process's rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, or_, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Team
from backend.channels.base import InboundMessage
from backend.channels.models import Channel
from backend.conversations import lifecycle
from backend.conversations.emit import message_event
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    Sender,
)
from backend.conversations.views import conversation_view, message_view
from backend.db.bulk import insert_all, prepared, row_object, update_all
from backend.db.engine import dialect_name, insert_for
from backend.db.group_commit import RetryableWrite
from backend.db.types import utcnow
from backend.media.views import media_view
from backend.realtime.types import EventType

# Contacts a reply router may claim a message of (it is then stored by the exact path).
Claimants = Callable[[AsyncSession, list[tuple[int, InboundMessage]]], Awaitable[set[int]]]


@dataclass
class IngestResult:
    """What one webhook's answer reports, and what its stored messages queued."""

    stored: list[int] = field(default_factory=list)
    duplicates: int = 0
    statuses_applied: int = 0
    statuses_pending: int = 0
    echoes_unmatched: int = 0
    contacts_synced: int = 0
    queued_team_ids: set[int] = field(default_factory=set)


class Raced(RetryableWrite):
    """Another process wrote a row this set was about to write: store each webhook alone, or
    run a lone one again."""


@dataclass
class Entry:
    """One customer message of the set, and the webhook (`index`) whose answer counts it."""

    index: int
    channel: Channel
    inbound: InboundMessage

    @property
    def channel_id(self) -> int:
        assert self.channel.id is not None, "channels come from the database"
        return self.channel.id

    @property
    def keys(self) -> tuple[tuple[int, str, str], ...]:
        """What names this customer: a shared key means the same person (same split)."""
        i, cid = self.inbound, self.channel_id
        return tuple((cid, kind, v) for kind, v in (("w", i.wa_id), ("u", i.user_id)) if v)


def _spread(entries: list[Entry], exact: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """Everyone sharing a key with an exact-path entry takes the exact path too."""
    marked = {k for e in exact for k in e.keys}
    moved = True
    rest = [e for e in entries if e not in exact]
    exact = list(exact)
    while moved:
        moved = False
        for entry in list(rest):
            if any(k in marked for k in entry.keys):
                rest.remove(entry)
                exact.append(entry)
                marked.update(entry.keys)
                moved = True
    return rest, exact


async def store_plain(
    session: AsyncSession,
    entries: list[Entry],
    claimants: list[Claimants],
    results: list[IngestResult],
) -> tuple[list[Entry], list[Conversation], list[Any]]:
    """Stores the plain messages of `entries`, counting them in `results[entry.index]`.

    Returns (the entries for the exact path, in their order; the snoozed conversations a
    customer just wrote into, for the caller to wake with `lifecycle.wake_all` after recording
    the events; the events to record, in order)."""
    from backend.realtime.models import Event  # the log's row; realtime imports this domain

    exact = [e for e in entries if e.inbound.type == "system" or not e.inbound.wa_id]
    plain, exact = _spread(entries, exact)
    if not plain:
        return exact, [], []
    plain = await _drop_stored(session, plain, results)
    contacts, plain, exact = await _contacts_of(session, plain, exact)
    opened = await _open_conversations(session, [c.id for c in contacts.values() if c.id])
    claimed: set[int] = set()
    asks = [(c.id, e.inbound) for e in plain if (c := contacts.get(_person(e))) and c.id]
    for claimant in claimants:
        claimed |= await claimant(session, asks)
    moving = [e for e in plain if (c := contacts.get(_person(e))) and c.id in claimed]
    plain, exact = _spread(plain, [*exact, *moving])
    if not plain:
        return exact, [], []

    # Writes from here on: nothing below moves an entry to the exact path.
    now = utcnow()
    unique = list({id(c): c for c in contacts.values()}.values())
    told: dict[int, dict[str, Any]] = {id(c): _said(c) for c in unique}
    for entry in plain:
        _touch(told[id(contacts[_person(entry)])], entry.inbound, now)
    new_contacts = [c for c in unique if c.id is None]
    for contact in new_contacts:
        for name, value in told[id(contact)].items():
            setattr(contact, name, value)
    # In one order everywhere: two processes inserting the same new customers would otherwise
    # each wait for the other's uncommitted row (a deadlock on the unique key).
    new_contacts.sort(key=lambda c: (c.channel_id, c.wa_id or ""))
    try:
        await insert_all(session, new_contacts, key=("channel_id", "wa_id"))
    except IntegrityError as error:  # another process made one of them since our read
        raise Raced("a contact of this set was made meanwhile by another process") from error
    known = [c for c in unique if c.id is not None and id(c) not in {id(n) for n in new_contacts}]
    await update_all(session, known, [told[id(c)] for c in known])
    conversations: dict[int, Conversation] = {}
    openings: dict[int, lifecycle.Opening] = {}
    for entry in plain:
        contact = contacts[_person(entry)]
        assert contact.id is not None
        if contact.id in opened:
            conversations[contact.id] = opened[contact.id]
        elif contact.id not in openings:
            referral = entry.inbound.payload.get("referral")  # its first message's
            openings[contact.id] = lifecycle.Opening(entry.channel, contact.id, referral)
    fresh = await lifecycle.start_all(session, list(openings.values()), now)
    conversations |= {c.contact_id: c for c in fresh}
    fresh_ids = {id(c) for c in fresh}

    ids = await _insert_messages(session, plain, conversations, contacts, now)
    events: list[Event] = []
    snoozed: list[Conversation] = []
    announced: set[int] = set()
    teams: dict[int, Team | None] = {}
    moved: dict[int, dict[str, Any]] = {}
    for entry, message_id in zip(plain, ids, strict=True):
        conversation = conversations[contacts[_person(entry)].id or 0]
        change = moved.setdefault(id(conversation), {
            "last_message_id": None, "unread_count": conversation.unread_count,
            "last_activity_at": now, "updated_at": now,
        })  # fmt: skip
        change["last_message_id"] = message_id
        change["unread_count"] += 1
    touched = list(conversations.values())
    await update_all(session, touched, [moved[id(c)] for c in touched])
    for entry, message_id in zip(plain, ids, strict=True):
        contact = contacts[_person(entry)]
        conversation = conversations[contact.id or 0]
        message = _message_row(entry, conversation, message_id, now)
        view = message_view(
            message, media=media_view(message_id, message.type, message.payload, None)
        )
        is_new = id(conversation) in fresh_ids and conversation.id not in announced
        news = None
        if is_new:
            announced.add(conversation.id or 0)
            team_id = conversation.team_id
            if team_id is not None and team_id not in teams:
                teams[team_id] = await session.get(Team, team_id)
            news = lifecycle.opened(conversation, conversation_view(
                conversation, contact, teams.get(team_id) if team_id else None, None,
                last_message=view, labels=[], sla=None,
            ))  # fmt: skip
            events += news.before
        events.append(message_event(EventType.message_created, view, conversation))
        if conversation.status == ConversationStatus.snoozed.value and all(
            c is not conversation for c in snoozed
        ):
            snoozed.append(conversation)  # the customer wrote: the snooze is over
        result = results[entry.index]
        if news is not None:
            events += news.after
            if news.queued_team_id is not None:
                result.queued_team_ids.add(news.queued_team_id)
        result.stored.append(message_id)
    return exact, snoozed, events


def _person(entry: Entry) -> tuple[int, str]:
    assert entry.inbound.wa_id is not None
    return entry.channel_id, entry.inbound.wa_id


# On PostgreSQL, the set's (channel, wamid) pairs joined as rows: each one an index probe of
# uq_messages_provider_id. With `channel_id IN (…) AND provider_message_id IN (…)` the planner
# chose by the table's statistics, and while they lagged a fast-growing table (or at the tens of
# thousands of rows where a scan looks cheaper) it scanned every message of the channel and
# compared each with the whole list: 640 wamids against 20,000 rows, per commit group.
_STORED_PG = text(
    "SELECT m.channel_id, m.provider_message_id FROM unnest("
    "CAST(:channel_ids AS INTEGER[]), CAST(:wamids AS VARCHAR[])) AS k(channel_id, wamid) "
    "JOIN messages AS m ON m.channel_id = k.channel_id AND m.provider_message_id = k.wamid"
)


async def _drop_stored(
    session: AsyncSession, entries: list[Entry], results: list[IngestResult]
) -> list[Entry]:
    """Leaves out messages stored before (a retried webhook) and repeats within the set."""
    if dialect_name(session) == "postgresql":
        pairs = {"channel_ids": [e.channel_id for e in entries],
                 "wamids": [e.inbound.provider_message_id for e in entries]}  # fmt: skip
        found = await session.execute(_STORED_PG, pairs)
    else:
        query = prepared("stored_messages", lambda: select(
            col(Message.channel_id), col(Message.provider_message_id)
        ).where(
            col(Message.channel_id).in_(bindparam("channel_ids", expanding=True)),
            col(Message.provider_message_id).in_(bindparam("wamids", expanding=True)),
        ))  # fmt: skip
        ids = {"channel_ids": list({e.channel_id for e in entries}),
               "wamids": list({e.inbound.provider_message_id for e in entries})}  # fmt: skip
        found = await session.execute(query, ids)
    seen = {(ch, pmid) for ch, pmid in found.all()}
    kept: list[Entry] = []
    for entry in entries:
        key = (entry.channel_id, entry.inbound.provider_message_id)
        if key in seen:
            results[entry.index].duplicates += 1  # nothing of a duplicate is kept
            continue
        seen.add(key)
        kept.append(entry)
    return kept


async def _contacts_of(
    session: AsyncSession, plain: list[Entry], exact: list[Entry]
) -> tuple[dict[tuple[int, str], Contact], list[Entry], list[Entry]]:
    """Each plain customer's contact (found, or made here but not yet added); the customers a
    merge or a BSUID held elsewhere would concern go to the exact path."""
    channel_ids = {e.channel_id for e in plain}
    wa_ids = {e.inbound.wa_id for e in plain}
    user_ids = {e.inbound.user_id for e in plain if e.inbound.user_id}
    pg = dialect_name(session) == "postgresql"
    query = prepared(
        ("plain_contacts", bool(user_ids), pg), lambda: _contacts_query(bool(user_ids), pg)
    )
    params = {"channel_ids": list(channel_ids), "wa_ids": list(wa_ids), "user_ids": list(user_ids)}
    found = list((await session.execute(query, params)).scalars())
    by_phone = {(c.channel_id, c.wa_id): c for c in found if c.wa_id}
    by_bsuid = {(c.channel_id, c.user_id): c for c in found if c.user_id}
    contacts: dict[tuple[int, str], Contact] = {}
    moving: list[Entry] = []
    for entry in plain:
        person, inbound = _person(entry), entry.inbound
        phone = by_phone.get(person)
        bsuid = by_bsuid.get((entry.channel_id, inbound.user_id)) if inbound.user_id else None
        if bsuid is not None and bsuid is not phone:
            moving.append(entry)  # two contacts are this one person: the exact path merges them
        elif phone is not None:
            contacts[person] = phone
        elif person not in contacts:
            contacts[person] = row_object(
                Contact, channel_id=entry.channel_id, wa_id=inbound.wa_id, user_id=inbound.user_id,
                name=inbound.contact_name, created_at=utcnow(), updated_at=utcnow(),
            )  # fmt: skip
    rest, exact = _spread(plain, [*exact, *moving])
    kept = {_person(e) for e in rest}
    return {p: c for p, c in contacts.items() if p in kept}, rest, exact


def _contacts_query(by_bsuid: bool, pg: bool) -> Any:
    keys = [col(Contact.wa_id).in_(bindparam("wa_ids", expanding=True))]
    keys += [col(Contact.user_id).in_(bindparam("user_ids", expanding=True))] if by_bsuid else []
    query = select(Contact).where(
        col(Contact.channel_id).in_(bindparam("channel_ids", expanding=True)), or_(*keys)
    )
    if pg:
        # One writer per contact (no second open conversation), locked in one order everywhere
        # so that two processes' sets cannot deadlock on each other's customers.
        query = query.order_by(col(Contact.id)).with_for_update()
    return query


_SAID = ("user_id", "parent_user_id", "username", "name", "last_inbound_at", "updated_at")


def _said(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in _SAID}


def _touch(said: dict[str, Any], inbound: InboundMessage, now: Any) -> None:
    """What a message says of its customer (as `ingest.upsert_contact` does for one)."""
    if inbound.user_id and said["user_id"] is None:
        said["user_id"] = inbound.user_id
    said["parent_user_id"] = inbound.parent_user_id or said["parent_user_id"]
    said["username"] = inbound.username or said["username"]
    if inbound.contact_name:
        said["name"] = inbound.contact_name
    if said["last_inbound_at"] is None or inbound.timestamp > said["last_inbound_at"]:
        said["last_inbound_at"] = inbound.timestamp
    said["updated_at"] = now


async def _open_conversations(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, Conversation]:
    if not contact_ids:
        return {}
    query = prepared("open_conversations", lambda: select(Conversation).where(
        col(Conversation.contact_id).in_(bindparam("contact_ids", expanding=True)),
        col(Conversation.status) != ConversationStatus.resolved.value,
    ))  # fmt: skip
    found = await session.execute(query, {"contact_ids": list(contact_ids)})
    return {c.contact_id: c for c in found.scalars()}


def inbound_values(
    inbound: InboundMessage, channel_id: int, conversation_id: int | None, sender: str, now: Any
) -> dict[str, Any]:
    """The `messages` row of a customer's (or WhatsApp's `system`) message, on either path."""
    return {
        "conversation_id": conversation_id, "channel_id": channel_id,
        "direction": Direction.inbound.value, "sender": sender,
        "type": inbound.type, "text": inbound.text, "payload": inbound.payload,
        "status": MessageStatus.received.value,
        "error_code": inbound.error_code, "error_title": inbound.error_title,
        "provider_message_id": inbound.provider_message_id,
        "reply_to_provider_id": inbound.reply_to_provider_id,
        "provider_timestamp": inbound.timestamp, "attempts": 0,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def _message_values(entry: Entry, conversation: Conversation, now: Any) -> dict[str, Any]:
    return inbound_values(
        entry.inbound, entry.channel_id, conversation.id, Sender.customer.value, now
    )


def _message_row(entry: Entry, conversation: Conversation, message_id: int, now: Any) -> Message:
    """The stored row as a detached object, for its JSON (never added to the session)."""
    return row_object(Message, id=message_id, **_message_values(entry, conversation, now))


async def _insert_messages(
    session: AsyncSession,
    plain: list[Entry],
    conversations: dict[int, Conversation],
    contacts: dict[tuple[int, str], Contact],
    now: Any,
) -> list[int]:
    """One multi-row insert-or-ignore; the ids come back in the order of `plain`."""
    rows = [_message_values(e, conversations[contacts[_person(e)].id or 0], now) for e in plain]
    table: Any = Message.__table__  # type: ignore[attr-defined]
    statement = prepared(("insert_messages", dialect_name(session)), lambda: (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["channel_id", "provider_message_id"])
        .returning(table.c.id, table.c.channel_id, table.c.provider_message_id)
    ))  # executemany with RETURNING: one multi-row statement, compiled once (db.bulk)  # fmt: skip
    got = {(ch, pmid): mid for mid, ch, pmid in (await session.execute(statement, rows)).all()}
    ids = [got.get((e.channel_id, e.inbound.provider_message_id)) for e in plain]
    if any(i is None for i in ids):
        raise Raced("a message of this set was stored meanwhile by another process")
    return [i for i in ids if i is not None]
