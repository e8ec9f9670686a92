"""The clocks' state machine: events move them, timers warn and breach them, breaches escalate.

Clocks are a projection of the event log. After a commit the hook asks the worker to apply a
conversation's new events (`apply_pending`), in `seq` order from a per-conversation cursor, so a
duplicate or late job changes nothing and the times used are the events' own `at`, not the
moment the worker got round to them. Each change that moves a deadline bumps the clock's
`version`; the timers scheduled for the old version then find themselves stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.hours import BusinessHours
from backend.agents.models import Team
from backend.bots.models import TeamSchedule
from backend.bots.services import stored_hours
from backend.conversations import lifecycle
from backend.conversations.emit import emit_conversation
from backend.conversations.lifecycle import Move
from backend.conversations.models import Conversation, ConversationStatus
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.realtime.models import Event
from backend.realtime.types import EventType
from backend.sla.arithmetic import Pause, deadline
from backend.sla.models import (
    OPEN_STATES,
    ClockKind,
    ClockState,
    SlaClock,
    SlaCursor,
    SlaPolicy,
)
from backend.sla.summary import clock_json

# The events that can start, stop, pause or move a clock.
RELEVANT = (
    "conversation.queued",
    "conversation.transferred",
    "conversation.resolved",
    "conversation.reopened",
    "conversation.snoozed",
    "conversation.woken",
    "message.created",
)
REPLY_KINDS = (ClockKind.first_response.value, ClockKind.next_response.value)
EARLY_TOLERANCE = timedelta(milliseconds=50)
BATCH = 500


@dataclass(frozen=True)
class Timer:
    """A job to run at `at` for one version of one clock (`point` is "warning" or "breach")."""

    clock_id: int
    version: int
    point: str
    at: datetime

    @property
    def job_id(self) -> str:
        return f"sla:{self.clock_id}:{self.version}:{self.point}"


def timers_for(clock: SlaClock) -> list[Timer]:
    assert clock.id is not None
    timers = []
    if clock.state == ClockState.running.value and clock.warn_at and clock.warned_at is None:
        timers.append(Timer(clock.id, clock.version, "warning", clock.warn_at))
    if clock.state in (ClockState.running.value, ClockState.warned.value) and clock.due_at:
        timers.append(Timer(clock.id, clock.version, "breach", clock.due_at))
    return timers


# ---------------------------------------------------------------- lookups


async def policy_for(
    session: AsyncSession, team_id: int | None, priority: int | None
) -> SlaPolicy | None:
    """The team's policy for this priority, else its default policy (priority NULL)."""
    if team_id is None:
        return None
    rows = await session.execute(select(SlaPolicy).where(col(SlaPolicy.team_id) == team_id))
    policies = list(rows.scalars())
    exact = [p for p in policies if p.priority is not None and p.priority == (priority or 0)]
    default = [p for p in policies if p.priority is None]
    chosen = exact or default
    return chosen[0] if chosen else None


async def hours_for(session: AsyncSession, team_id: int | None) -> BusinessHours | None:
    if team_id is None:
        return None
    return stored_hours(await session.get(TeamSchedule, team_id))


async def _clocks(session: AsyncSession, conversation_id: int) -> list[SlaClock]:
    rows = await session.execute(
        select(SlaClock)
        .where(col(SlaClock.conversation_id) == conversation_id)
        .order_by(col(SlaClock.id))
    )
    return list(rows.scalars())


# ---------------------------------------------------------------- arithmetic on a clock


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def pauses_of(clock: SlaClock) -> list[Pause]:
    result: list[Pause] = []
    for start, end in clock.pauses:
        begin = _parse(start)
        assert begin is not None
        result.append((begin, _parse(end)))
    return result


def _recompute(clock: SlaClock, hours: BusinessHours | None) -> bool:
    """Sets warn_at and due_at from the clock's target and pauses; True when they moved."""
    use = hours if clock.business_hours else None
    pauses = pauses_of(clock)
    due = deadline(clock.started_at, clock.target_seconds, use, pauses)
    warn = deadline(clock.started_at, clock.target_seconds * clock.warn_at_fraction, use, pauses)
    moved = (due, warn) != (clock.due_at, clock.warn_at)
    clock.due_at, clock.warn_at = due, warn
    return moved


def _bump(clock: SlaClock, now: datetime) -> None:
    clock.version += 1
    clock.updated_at = now


class Changes:
    """What one unit of work did: timers to schedule after commit, whether anything changed."""

    def __init__(self) -> None:
        self.touched: dict[int, SlaClock] = {}
        self.breached: list[SlaClock] = []

    def touch(self, clock: SlaClock) -> None:
        assert clock.id is not None
        self.touched[clock.id] = clock

    @property
    def timers(self) -> list[Timer]:
        return [timer for clock in self.touched.values() for timer in timers_for(clock)]


# ---------------------------------------------------------------- transitions


async def _start(
    session: AsyncSession, conversation: Conversation, kind: str, policy: SlaPolicy,
    at: datetime, changes: Changes, cycle: int = 1,
) -> SlaClock | None:  # fmt: skip
    target = policy.target(kind)
    if target is None:
        return None
    assert conversation.id is not None
    clock = SlaClock(
        conversation_id=conversation.id, kind=kind, cycle=cycle, team_id=policy.team_id,
        policy_id=policy.id, target_seconds=target, warn_at_fraction=policy.warn_at_fraction,
        business_hours=policy.business_hours, started_at=at, updated_at=utcnow(),
    )  # fmt: skip
    _recompute(clock, await hours_for(session, policy.team_id))
    session.add(clock)
    await session.flush()
    changes.touch(clock)
    return clock


def _stop(clock: SlaClock, at: datetime, agent_id: int | None, changes: Changes) -> None:
    """The target was met at `at`: met, or breached if the deadline had already passed."""
    clock.met_at = at
    clock.agent_id = agent_id if agent_id is not None else clock.agent_id
    if clock.state != ClockState.breached.value:
        if clock.due_at is not None and at > clock.due_at:
            clock.state = ClockState.breached.value  # the timer was late: the record is not
            clock.breached_at = clock.due_at
            changes.breached.append(clock)
        else:
            clock.state = ClockState.met.value
    _bump(clock, utcnow())
    changes.touch(clock)


def _cancel(clock: SlaClock, changes: Changes) -> None:
    clock.state = ClockState.cancelled.value
    _bump(clock, utcnow())
    changes.touch(clock)


def _pause(clock: SlaClock, at: datetime, changes: Changes) -> None:
    clock.state = ClockState.paused.value
    clock.paused_at = at
    clock.pauses = [*clock.pauses, [at.isoformat(), None]]
    clock.due_at = clock.warn_at = None
    _bump(clock, utcnow())
    changes.touch(clock)


def _resume(clock: SlaClock, at: datetime, hours: BusinessHours | None, changes: Changes) -> None:
    pauses = [list(p) for p in clock.pauses]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = at.isoformat()
        begin = _parse(pauses[-1][0])
        assert begin is not None
        clock.paused_seconds += max(0.0, (at - begin).total_seconds())
    clock.pauses = pauses
    clock.paused_at = None
    clock.state = ClockState.warned.value if clock.warned_at else ClockState.running.value
    _recompute(clock, hours)
    _bump(clock, utcnow())
    changes.touch(clock)


async def retarget(
    session: AsyncSession, clocks: list[SlaClock], team_id: int | None, priority: int | None,
    changes: Changes,
) -> None:  # fmt: skip
    """The conversation moved team or priority: open clocks follow the policy that applies now."""
    policy = await policy_for(session, team_id, priority)
    hours = await hours_for(session, team_id)
    for clock in clocks:
        if clock.state not in OPEN_STATES:
            continue
        target = policy.target(clock.kind) if policy else None
        if policy is None or target is None:
            _cancel(clock, changes)
            continue
        same = (clock.policy_id, clock.target_seconds) == (policy.id, target)
        clock.policy_id, clock.team_id, clock.target_seconds = policy.id, policy.team_id, target
        clock.warn_at_fraction, clock.business_hours = (
            policy.warn_at_fraction,
            policy.business_hours,
        )
        if clock.state == ClockState.paused.value:
            if not same:
                _bump(clock, utcnow())
                changes.touch(clock)
            continue
        if _recompute(clock, hours) or not same:
            _bump(clock, utcnow())
            changes.touch(clock)


def _awaiting_reply(clocks: list[SlaClock]) -> list[SlaClock]:
    return [
        c for c in clocks
        if c.kind in REPLY_KINDS and c.met_at is None and c.state != ClockState.cancelled.value
    ]  # fmt: skip


async def _ensure(
    session: AsyncSession, conversation: Conversation, clocks: list[SlaClock], team_id: int | None,
    priority: int | None, at: datetime, changes: Changes, *, new_resolution_cycle: bool = False,
) -> None:  # fmt: skip
    """Starts the clocks a newly responsible team owes: first response and resolution."""
    policy = await policy_for(session, team_id, priority)
    if policy is None:
        return
    live = [c for c in clocks if c.state != ClockState.cancelled.value]

    def next_cycle(kind: str) -> int:
        return 1 + max((c.cycle for c in clocks if c.kind == kind), default=0)

    replied = conversation.first_response_at is not None and conversation.first_response_at <= at
    first = ClockKind.first_response.value
    if not replied and not any(c.kind == first for c in live):
        await _start(session, conversation, first, policy, at, changes, cycle=next_cycle(first))
    resolution = [c for c in live if c.kind == ClockKind.resolution.value]
    if not resolution or (
        new_resolution_cycle and all(c.state not in OPEN_STATES for c in resolution)
    ):
        kind = ClockKind.resolution.value
        await _start(session, conversation, kind, policy, at, changes, cycle=next_cycle(kind))


async def apply_event(
    session: AsyncSession, conversation: Conversation, event: Event, changes: Changes
) -> None:
    """One event's effect on the conversation's clocks, judged as of the event's time."""
    at = event.at
    clocks = await _clocks(session, conversation.id or 0)
    snapshot: dict[str, Any] = event.data.get("conversation") or {}
    priority = snapshot.get("priority", conversation.priority)
    team_id = event.team_id
    kind = event.type
    if kind == "conversation.queued":
        await _ensure(session, conversation, clocks, team_id, priority, at, changes)
    elif kind == "conversation.transferred":
        await retarget(session, clocks, team_id, priority, changes)
        await _ensure(session, conversation, clocks, team_id, priority, at, changes)
    elif kind == "conversation.reopened":
        await _ensure(
            session, conversation, clocks, team_id, priority, at, changes,
            new_resolution_cycle=True,
        )  # fmt: skip
    elif kind == "conversation.resolved":
        by = event.data.get("by") or {}
        for clock in clocks:
            if clock.kind == ClockKind.resolution.value and clock.state in OPEN_STATES:
                _stop(clock, at, by.get("id") or snapshot.get("assignee_id"), changes)
        for clock in _awaiting_reply(clocks):
            if clock.state in OPEN_STATES:
                _cancel(clock, changes)
    elif kind == "conversation.snoozed":
        # Put aside: the resolution clock follows the policy's pause rule (as when waiting on
        # the customer); reply clocks keep running, a snooze does not excuse an unanswered chat.
        for clock in clocks:
            if clock.kind != ClockKind.resolution.value or clock.state not in (
                ClockState.running.value, ClockState.warned.value,
            ):  # fmt: skip
                continue
            policy = await session.get(SlaPolicy, clock.policy_id) if clock.policy_id else None
            if policy is not None and policy.pause_while_waiting_on_customer:
                _pause(clock, at, changes)
    elif kind == "conversation.woken":
        hours = await hours_for(session, team_id)
        for clock in clocks:
            if clock.state == ClockState.paused.value:
                _resume(clock, at, hours, changes)
    elif kind == "message.created":
        message: dict[str, Any] = event.data.get("message") or {}
        if message.get("private"):
            return  # an agent's note to colleagues answers nobody
        if message.get("sender") == "customer":
            await _customer_wrote(session, conversation, clocks, team_id, priority, at, changes)
        elif message.get("sender") in ("agent", "business_app"):  # a person answered
            agent = (message.get("sender_agent") or {}).get("id")
            await _agent_replied(session, clocks, at, agent, changes)


async def _customer_wrote(
    session: AsyncSession, conversation: Conversation, clocks: list[SlaClock],
    team_id: int | None, priority: int | None, at: datetime, changes: Changes,
) -> None:  # fmt: skip
    hours = await hours_for(session, team_id)
    for clock in clocks:
        if clock.state == ClockState.paused.value:
            _resume(clock, at, hours, changes)
    if _awaiting_reply(clocks):
        return  # still waiting for the first (or the previous) answer
    replied = conversation.first_response_at is not None and conversation.first_response_at <= at
    if not replied:
        return
    policy = await policy_for(session, team_id, priority)
    if policy is None or conversation.status == ConversationStatus.resolved.value:
        return
    cycle = 1 + max((c.cycle for c in clocks if c.kind == "next_response"), default=0)
    await _start(session, conversation, "next_response", policy, at, changes, cycle=cycle)


async def _agent_replied(
    session: AsyncSession, clocks: list[SlaClock], at: datetime, agent_id: int | None,
    changes: Changes,
) -> None:  # fmt: skip
    for clock in _awaiting_reply(clocks):
        _stop(clock, at, agent_id, changes)
    for clock in clocks:
        if clock.kind != ClockKind.resolution.value or clock.state not in (
            ClockState.running.value, ClockState.warned.value,
        ):  # fmt: skip
            continue
        policy = await session.get(SlaPolicy, clock.policy_id) if clock.policy_id else None
        if policy is not None and policy.pause_while_waiting_on_customer:
            _pause(clock, at, changes)


# ---------------------------------------------------------------- units of work


async def apply_pending(session: AsyncSession, conversation_id: int) -> Changes:
    """Applies the conversation's events after its cursor, in order. Caller commits."""
    changes = Changes()
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return changes
    cursor = await session.get(SlaCursor, conversation_id)
    if cursor is None:
        cursor = SlaCursor(conversation_id=conversation_id, last_seq=0)
        session.add(cursor)
    while True:
        events = list(
            (
                await session.execute(
                    select(Event)
                    .where(
                        col(Event.conversation_id) == conversation_id,
                        col(Event.seq) > cursor.last_seq,
                        col(Event.type).in_(RELEVANT),
                    )
                    .order_by(col(Event.seq))
                    .limit(BATCH)
                )
            ).scalars()
        )
        if not events:
            break
        if await _any_sla(session, conversation_id):
            for event in events:
                await apply_event(session, conversation, event, changes)
        assert events[-1].seq is not None
        cursor.last_seq = events[-1].seq
        if len(events) < BATCH:
            break
    await session.flush()
    for clock in changes.breached:
        await emit_conversation(
            session, EventType.sla_breached, conversation, clock=clock_json(clock), late=True
        )
    if changes.touched:
        await emit_conversation(session, EventType.sla_updated, conversation)
    return changes


async def _any_sla(session: AsyncSession, conversation_id: int) -> bool:
    """Skips the work for conversations that no policy could concern (the common case)."""
    policies = (await session.execute(select(func.count()).select_from(SlaPolicy))).scalar_one()
    if policies:
        return True
    clocks = await session.execute(
        select(func.count())
        .select_from(SlaClock)
        .where(col(SlaClock.conversation_id) == conversation_id)
    )
    return bool(clocks.scalar_one())


@dataclass
class Fired:
    outcome: str  # "warned", "breached", "stale" or "early"
    changes: Changes
    moved_to_team_id: int | None = None


async def fire(
    session: AsyncSession, clock_id: int, version: int, point: str, now: datetime | None = None
) -> Fired:
    """A timer's moment has come: warn or breach the clock, unless it has moved since."""
    changes = Changes()
    query = select(SlaClock).where(col(SlaClock.id) == clock_id)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()
    clock = (await session.execute(query)).scalar_one_or_none()
    if clock is None or clock.version != version:
        return Fired("stale", changes)
    now = now or utcnow()
    if point == "warning":
        if clock.state != ClockState.running.value or clock.warn_at is None:
            return Fired("stale", changes)
        if clock.warn_at - now > EARLY_TOLERANCE:
            changes.touch(clock)
            return Fired("early", changes)
        clock.state, clock.warned_at, clock.updated_at = ClockState.warned.value, now, now
        conversation = await session.get(Conversation, clock.conversation_id)
        assert conversation is not None
        await session.flush()
        await emit_conversation(
            session, EventType.sla_warning, conversation, clock=clock_json(clock)
        )
        changes.touch(clock)
        return Fired("warned", changes)
    if clock.state not in (ClockState.running.value, ClockState.warned.value) or not clock.due_at:
        return Fired("stale", changes)
    if clock.due_at - now > EARLY_TOLERANCE:
        changes.touch(clock)
        return Fired("early", changes)
    conversation = await session.get(Conversation, clock.conversation_id)
    assert conversation is not None
    clock.state, clock.breached_at, clock.updated_at = ClockState.breached.value, now, now
    clock.agent_id = conversation.assignee_id
    changes.touch(clock)
    changes.breached.append(clock)
    policy = await session.get(SlaPolicy, clock.policy_id) if clock.policy_id else None
    escalation, moved_from = await escalate(
        session, conversation, policy, now, changes, kind=clock.kind
    )
    await session.flush()
    await emit_conversation(
        session, EventType.sla_breached, conversation, clock=clock_json(clock),
        escalation=escalation,
    )  # fmt: skip
    if moved_from is not None:
        await lifecycle.announce(
            session, Move.transfer, conversation, by={"sla": clock.kind, "from_team_id": moved_from}
        )
    return Fired("breached", changes, conversation.team_id if moved_from is not None else None)


async def escalate(
    session: AsyncSession, conversation: Conversation, policy: SlaPolicy | None, now: datetime,
    changes: Changes, *, kind: str,
) -> tuple[dict[str, Any], int | None]:  # fmt: skip
    """The policy's answer to a breach of the `kind` clock: raise priority, move team (a
    lifecycle transfer, announced by the caller after the breach), tell the leads."""
    done: dict[str, Any] = {"raised_priority": None, "moved_to_team": None, "notify_leads": False}
    if policy is None or conversation.status == ConversationStatus.resolved.value:
        return done, None
    moved_from = None
    if policy.escalate_raise_priority:
        conversation.priority += 1
        done["raised_priority"] = conversation.priority
    target = policy.escalate_move_to_team_id
    if target is not None and target != conversation.team_id:
        team = await session.get(Team, target)
        if team is not None:
            moved_from = conversation.team_id
            await lifecycle.transfer(
                session, conversation, by={"sla": kind, "from_team_id": moved_from},
                team_id=target, announced=False,
            )  # fmt: skip
            done["moved_to_team"] = team.name
    done["notify_leads"] = policy.escalate_notify_leads
    if done["raised_priority"] is not None or moved_from is not None:
        conversation.updated_at = now
        clocks = await _clocks(session, conversation.id or 0)
        await retarget(session, clocks, conversation.team_id, conversation.priority, changes)
    return done, moved_from


async def overdue_timers(session: AsyncSession, now: datetime, grace: timedelta) -> list[Timer]:
    """Safety net: timers whose moment passed without effect (Redis lost the job)."""
    before = now - grace
    rows = await session.execute(
        select(SlaClock)
        .where(
            col(SlaClock.state).in_([ClockState.running.value, ClockState.warned.value]),
            col(SlaClock.due_at).is_not(None),
        )
        .where(
            (col(SlaClock.due_at) <= before)
            | (
                (col(SlaClock.state) == ClockState.running.value)
                & (col(SlaClock.warn_at) <= before)
            )
        )
        .limit(500)
    )
    return [timer for clock in rows.scalars() for timer in timers_for(clock) if timer.at <= before]
