"""A conversation's lifecycle: every change of its status or holder, whoever asks for it.

Routing (an agent's claim, release, transfer, resolve, reopen, snooze), auto-assign, a bot's
handoff and its end, an SLA escalation and a snooze's timer all call these functions, so which
moves exist, from which states, what each one writes and which event it emits is decided here and
nowhere else. Who *may* ask (holder, lead, capacity, visibility) is the caller's business:
`routing.py` checks it for agents.

`FROM` and `TO` are the pure transition table (unit-tested on their own); each function checks
its move against it, writes the row, and emits the move's event through `emit_conversation`.
The two moves that can race — taking a conversation (a claim, auto-assign) and waking a snooze
(its timer and a customer's message) — are one conditional UPDATE each, judged by its row count,
so exactly one of any number of concurrent callers wins on SQLite and PostgreSQL alike.

`announced=False` leaves the event to the caller, who sends it with `announce` once the rest of
its change is written: a bot's handoff says its messages and leaves its note first, and an SLA
breach's own event comes before the transfer it caused, so the events keep their order.

Ingest opens and wakes conversations for a whole commit group at once (`bulk_ingest`), so those
two moves are split into pure decisions and writes for one row or a set: `opening` (a new
conversation's row: with the channel's bot, or queued) and `opened` (its events, from its JSON in
hand), written by `start` (one, through the ORM: the exact path, a business system's send) or
`start_all` (one multi-row INSERT); `woken` (back to the holder or to the queue) written by
`wake_all` in one conditional UPDATE per distinct change, which `wake` is for a single one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Unpack

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from backend.agents.models import Agent, Presence
from backend.bots.models import BotFlow
from backend.conversations.emit import conversation_event, emit_conversation
from backend.conversations.models import Contact, Conversation, ConversationStatus
from backend.conversations.views import conversations_json
from backend.core.errors import ServiceError
from backend.db.bulk import insert_all, row_object
from backend.db.types import utcnow
from backend.realtime.events import record_events
from backend.realtime.types import By, ConversationExtras, EventType

if TYPE_CHECKING:
    from backend.channels.models import Channel
    from backend.realtime.models import Event


class Move(StrEnum):
    open = "open"
    queue = "queue"
    assign = "assign"
    release = "release"
    transfer = "transfer"
    snooze = "snooze"
    wake = "wake"
    resolve = "resolve"
    reopen = "reopen"


_bot, _queued, _assigned = (
    ConversationStatus.bot,
    ConversationStatus.queued,
    ConversationStatus.assigned,
)
_snoozed, _resolved = ConversationStatus.snoozed, ConversationStatus.resolved

FROM: dict[Move, frozenset[str]] = {
    Move.open: frozenset(),  # a new conversation has no state yet (`start`, `start_all`)
    Move.queue: frozenset({_bot, _queued}),  # a bot hands off; a new one is put in a named queue
    Move.assign: frozenset({_bot, _queued, _assigned}),  # `assigned` only while nobody holds it
    Move.release: frozenset({_assigned}),
    Move.transfer: frozenset({_bot, _queued, _assigned, _snoozed}),
    Move.snooze: frozenset({_queued, _assigned, _snoozed}),  # re-snoozing moves the time
    Move.wake: frozenset({_snoozed}),
    Move.resolve: frozenset({_bot, _queued, _assigned, _snoozed}),
    Move.reopen: frozenset({_resolved}),
}
TO: dict[Move, frozenset[str]] = {
    Move.open: frozenset({_bot, _queued}),
    Move.queue: frozenset({_queued}),
    Move.assign: frozenset({_assigned}),
    Move.release: frozenset({_queued}),
    Move.transfer: frozenset({_queued, _assigned}),  # to a team's queue, or to an agent
    Move.snooze: frozenset({_snoozed}),
    Move.wake: frozenset({_queued, _assigned}),  # back to its holder if online, else the queue
    Move.resolve: frozenset({_resolved}),
    Move.reopen: frozenset({_queued}),
}
EVENT: dict[Move, EventType] = {
    Move.open: EventType.conversation_created,
    Move.queue: EventType.conversation_queued,
    Move.assign: EventType.conversation_claimed,
    Move.release: EventType.conversation_released,
    Move.transfer: EventType.conversation_transferred,
    Move.snooze: EventType.conversation_snoozed,
    Move.wake: EventType.conversation_woken,
    Move.resolve: EventType.conversation_resolved,
    Move.reopen: EventType.conversation_reopened,
}
OPEN = frozenset({_bot, _queued, _assigned})  # someone (bot or person) is, or will be, on it


def allowed(move: Move, status: str) -> bool:
    return status in FROM[move]


def require(move: Move, conversation: Conversation) -> None:
    """A move its table forbids is a conflict (409) for whoever asked."""
    if not allowed(move, conversation.status):
        raise ServiceError(409, f"a {conversation.status} conversation cannot {move.value}")


async def announce(
    session: AsyncSession, move: Move, conversation: Conversation, *,
    view: dict[str, Any] | None = None, **extra: Unpack[ConversationExtras],
) -> None:  # fmt: skip
    """The move's event (`EVENT`); `view`: the conversation's JSON when the caller has it."""
    await emit_conversation(session, EVENT[move], conversation, view=view, **extra)


async def _written(
    session: AsyncSession, move: Move, conversation: Conversation, announced: bool,
    who: By | None, **extra: Unpack[ConversationExtras],
) -> None:  # fmt: skip
    assert conversation.status in TO[move], (move, conversation.status)
    await session.flush()
    if not announced:
        return
    if who is not None:
        extra["by"] = who
    await announce(session, move, conversation, **extra)


async def queue(
    session: AsyncSession, conversation: Conversation, *, by: By | None = None,
    team_id: int | None = None, priority: int | None = None, announced: bool = True,
) -> None:  # fmt: skip
    """Into the queue of `team_id` (default: its own team) waiting for a person. `by` None: the
    event says nobody (a conversation a business system opened in a named queue)."""
    require(Move.queue, conversation)
    conversation.status = ConversationStatus.queued.value
    conversation.team_id = team_id if team_id is not None else conversation.team_id
    if priority is not None:
        conversation.priority = priority
    conversation.queued_at = conversation.updated_at = utcnow()
    await _written(session, Move.queue, conversation, announced, by)


async def assign(
    session: AsyncSession, conversation: Conversation, agent_id: int, *, by: By,
    only_from: Collection[str] = FROM[Move.assign],
) -> bool:  # fmt: skip
    """Gives the conversation to `agent_id` if nobody holds it: one conditional UPDATE, so of
    concurrent claims exactly one wins. False when another did (the row is not changed).
    `only_from` narrows the states taken from (auto-assign takes only queued ones)."""
    assert set(only_from) <= FROM[Move.assign]
    won = await session.execute(
        update(Conversation)
        .where(
            col(Conversation.id) == conversation.id,
            col(Conversation.assignee_id).is_(None),
            col(Conversation.status).in_(sorted(only_from)),
        )
        .values(assignee_id=agent_id, status=ConversationStatus.assigned.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if won.rowcount == 0:  # type: ignore[attr-defined]
        return False
    await session.refresh(conversation)
    await announce(session, Move.assign, conversation, by=by)
    return True


async def release(
    session: AsyncSession, conversation: Conversation, *, by: By, announced: bool = True
) -> None:
    """Back to its team's queue, nobody holding it."""
    require(Move.release, conversation)
    conversation.assignee_id = None
    conversation.status = ConversationStatus.queued.value
    conversation.queued_at = conversation.updated_at = utcnow()
    await _written(session, Move.release, conversation, announced, by)


async def transfer(
    session: AsyncSession, conversation: Conversation, *, by: By, team_id: int | None = None,
    agent_id: int | None = None, announced: bool = True,
) -> None:  # fmt: skip
    """To another team's queue (`team_id`) or straight to an agent (`agent_id`); a snooze ends."""
    assert (team_id is None) != (agent_id is None)
    require(Move.transfer, conversation)
    now = utcnow()
    if team_id is not None:
        conversation.team_id = team_id
        conversation.assignee_id = None
        conversation.status = ConversationStatus.queued.value
        conversation.queued_at = now
    else:
        conversation.assignee_id = agent_id
        conversation.status = ConversationStatus.assigned.value
    conversation.snoozed_until = conversation.snoozed_by_id = None
    conversation.updated_at = now
    await _written(session, Move.transfer, conversation, announced, by)


async def snooze(
    session: AsyncSession, conversation: Conversation, until: datetime, *, by: By
) -> None:
    """Aside until `until`; the holder stays as assignee and in `snoozed_by_id`, so it comes
    back to them (capacity counts only `assigned` chats, so a snoozed one frees a slot)."""
    require(Move.snooze, conversation)
    conversation.status = ConversationStatus.snoozed.value
    conversation.snoozed_until = until
    conversation.snoozed_by_id = conversation.assignee_id
    conversation.updated_at = utcnow()
    await _written(session, Move.snooze, conversation, True, by, until=until.isoformat())


def woken(holder: Agent | None, now: datetime) -> dict[str, Any]:
    """What waking writes: back to `holder` (who snoozed it) when they are active and online,
    else to its team's queue; the snooze is cleared either way."""
    if holder is not None and holder.active and holder.presence == Presence.online.value:
        back: dict[str, Any] = {"status": _assigned.value, "assignee_id": holder.id}
    else:
        back = {"status": _queued.value, "assignee_id": None, "queued_at": now}
    return {**back, "snoozed_until": None, "snoozed_by_id": None, "updated_at": now}


async def wake(session: AsyncSession, conversation: Conversation, reason: str) -> bool:
    """Ends a snooze (`reason`: `timer` or `customer`): back to its holder when they are online,
    else to its team's queue. False when it was not snoozed (already woken, or re-snoozed)."""
    return bool(await wake_all(session, [conversation], reason))


async def wake_all(
    session: AsyncSession, conversations: Sequence[Conversation], reason: str
) -> list[Conversation]:
    """`wake` for many (a commit group's customers writing into snoozed chats): one read of
    their holders, one conditional UPDATE per distinct change (the queue, or each online
    holder), one read of their JSON for the events. Returns those it woke, in order."""
    asleep = list({id(c): c for c in conversations if allowed(Move.wake, c.status)}.values())
    if not asleep:
        return []
    holder_ids = {c.snoozed_by_id for c in asleep if c.snoozed_by_id is not None}
    holders: dict[int | None, Agent] = {}
    if holder_ids:
        found = await session.execute(select(Agent).where(col(Agent.id).in_(holder_ids)))
        holders = {a.id: a for a in found.scalars()}
    await session.flush()  # the caller's own changes to these rows first
    now = utcnow()
    changes = [woken(holders.get(c.snoozed_by_id), now) for c in asleep]
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for conversation, change in zip(asleep, changes, strict=True):
        assert conversation.id is not None
        groups.setdefault(tuple(change.items()), []).append(conversation.id)
    won: set[int] = set()
    for change_items, ids in groups.items():
        # Conditional, like a claim: the timer and a customer message racing wake it once.
        result = await session.execute(
            update(Conversation)
            .where(col(Conversation.id).in_(ids),
                   col(Conversation.status).in_(sorted(FROM[Move.wake])))
            .values(dict(change_items))
            .returning(col(Conversation.id))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        won.update(i for i in result.scalars() if i is not None)
    woke: list[Conversation] = []
    held_by: list[int | None] = []
    for conversation, change in zip(asleep, changes, strict=True):
        if conversation.id not in won:
            continue
        held_by.append(conversation.snoozed_by_id)
        for name, value in change.items():
            set_committed_value(conversation, name, value)
        woke.append(conversation)
    views = await conversations_json(session, woke) if woke else []
    await record_events(session, [
        conversation_event(EVENT[Move.wake], c, view, reason=reason, holder_id=holder_id)
        for c, view, holder_id in zip(woke, views, held_by, strict=True)
    ])  # fmt: skip
    return woke


async def resolve(
    session: AsyncSession, conversation: Conversation, *, by: By, announced: bool = True
) -> bool:
    """Done; False (and nothing written) when it already was."""
    if conversation.status == ConversationStatus.resolved.value:
        return False
    require(Move.resolve, conversation)
    conversation.status = ConversationStatus.resolved.value
    conversation.snoozed_until = conversation.snoozed_by_id = None
    conversation.resolved_at = conversation.updated_at = utcnow()
    await _written(session, Move.resolve, conversation, announced, by)
    return True


async def reopen(session: AsyncSession, conversation: Conversation, *, by: By) -> bool:
    """A resolved conversation back in its team's queue; False when it was not resolved. The
    caller makes sure the customer has no newer open conversation (one open per contact)."""
    if not allowed(Move.reopen, conversation.status):
        return False
    conversation.status = ConversationStatus.queued.value
    conversation.assignee_id = None
    conversation.resolved_at = None
    conversation.queued_at = conversation.updated_at = utcnow()
    await _written(session, Move.reopen, conversation, True, by)
    return True


# --- Opening (ingest, a business system's send): the rule, and its writes for one or a set.


async def channel_has_bot(session: AsyncSession, channel: Channel) -> bool:
    """With an active bot flow the bot greets first; the conversation is queued at its handoff.
    Asked once per channel and transaction: a webhook batch opens many conversations at once."""
    assert channel.id is not None
    known: dict[int, bool] = session.info.setdefault("switchboard.channel_has_bot", {})
    if channel.id not in known:
        query = select(col(BotFlow.id)).where(
            col(BotFlow.channel_id) == channel.id, col(BotFlow.active).is_(True)
        )
        known[channel.id] = (await session.execute(query.limit(1))).first() is not None
    return known[channel.id]


def opening(
    *, channel_id: int, contact_id: int, team_id: int | None, has_bot: bool, now: datetime,
    referral: object = None,
) -> dict[str, Any]:  # fmt: skip
    """A new conversation's row: the bot's when the channel has one (queued at its handoff), else
    waiting in `team_id`'s queue (the channel's default team) from `now`. `referral`: the
    click-to-WhatsApp ad its first message came from, if any."""
    values: dict[str, Any] = {
        "channel_id": channel_id, "contact_id": contact_id,
        "status": (_bot if has_bot else _queued).value, "team_id": team_id,
        "queued_at": None if has_bot else now, "created_at": now, "updated_at": now,
        "last_activity_at": now,
    }  # fmt: skip
    if isinstance(referral, dict):
        values |= {"source": "ad", "referral": referral}
    assert values["status"] in TO[Move.open]
    return values


async def _opening_of(
    session: AsyncSession, channel: Channel, contact_id: int, referral: object, now: datetime
) -> dict[str, Any]:
    assert channel.id is not None
    has_bot = await channel_has_bot(session, channel)
    return opening(
        channel_id=channel.id, contact_id=contact_id, team_id=channel.default_team_id,
        has_bot=has_bot, now=now, referral=referral,
    )  # fmt: skip


async def start(
    session: AsyncSession, channel: Channel, contact: Contact, *, referral: object = None
) -> Conversation:
    """A new conversation for `contact`, written now (flushed: it has its id). Not announced:
    the caller sends `opened`'s events around its first message's."""
    assert contact.id is not None
    conversation = Conversation(
        **await _opening_of(session, channel, contact.id, referral, utcnow())
    )
    session.add(conversation)
    await session.flush()
    return conversation


@dataclass(frozen=True)
class Opening:
    """One conversation for `start_all` to open."""

    channel: Channel
    contact_id: int
    referral: object = None


async def start_all(
    session: AsyncSession, openings: Sequence[Opening], now: datetime
) -> list[Conversation]:
    """`start` for a set, in one multi-row INSERT (the contacts have no open conversation: the
    unique index on open conversations per contact fails the statement otherwise)."""
    rows = [
        row_object(Conversation, **await _opening_of(session, o.channel, o.contact_id, o.referral, now))
        for o in openings
    ]  # fmt: skip
    await insert_all(session, rows, key=("contact_id",))
    return rows


@dataclass(frozen=True)
class Opened:
    """What a new conversation announces: `before` its first message's event, and `after` it."""

    before: list[Event]
    after: list[Event]
    queued_team_id: int | None  # the team whose queue it waits in (auto-assign drains it)


def opened(conversation: Conversation, view: dict[str, Any]) -> Opened:
    """From its JSON (`view`): `conversation.created`, and when it waits for a person (no bot
    greets first) `conversation.queued`, which comes after its first message's event."""
    before = [conversation_event(EVENT[Move.open], conversation, view)]
    if conversation.status != _queued.value:
        return Opened(before, [], None)
    after = [conversation_event(EVENT[Move.queue], conversation, view)]
    return Opened(before, after, conversation.team_id)
