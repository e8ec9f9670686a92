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
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any, Unpack

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.agents.models import Agent, Presence
from backend.conversations.emit import emit_conversation
from backend.conversations.models import Conversation, ConversationStatus
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.realtime.types import By, ConversationExtras, EventType


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
    Move.open: frozenset(),  # a new conversation has no state yet (ingest.start_conversation)
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


async def wake(session: AsyncSession, conversation: Conversation, reason: str) -> bool:
    """Ends a snooze (`reason`: `timer` or `customer`): back to its holder when they are online,
    else to its team's queue. False when it was not snoozed (already woken, or re-snoozed)."""
    if not allowed(Move.wake, conversation.status):
        return False
    holder_id = conversation.snoozed_by_id
    holder = await session.get(Agent, holder_id) if holder_id is not None else None
    now = utcnow()
    back: dict[str, object] = {"status": ConversationStatus.queued.value, "assignee_id": None,
                               "queued_at": now}  # fmt: skip
    if holder is not None and holder.active and holder.presence == Presence.online.value:
        back = {"status": ConversationStatus.assigned.value, "assignee_id": holder.id}
    # Conditional, like a claim: the timer and a customer message racing wake it once.
    won = await session.execute(
        update(Conversation)
        .where(col(Conversation.id) == conversation.id,
               col(Conversation.status).in_(sorted(FROM[Move.wake])))
        .values(**back, snoozed_until=None, snoozed_by_id=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if won.rowcount == 0:  # type: ignore[attr-defined]
        return False
    await session.refresh(conversation)
    await announce(session, Move.wake, conversation, reason=reason, holder_id=holder_id)
    return True


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
