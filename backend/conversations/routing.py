"""The conversation's lifecycle, in one place: claim, release, transfer, resolve, reopen, snooze
and wake — every change of status or holder goes through here.

Claims are a single conditional UPDATE (`WHERE assignee_id IS NULL`) judged by its row count, so
of any number of agents clicking Claim at once exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Agent, Presence, Team
from backend.conversations.models import Conversation, ConversationStatus
from backend.conversations.notes import write_note
from backend.conversations.views import conversation_json
from backend.conversations.visibility import get_visible
from backend.core.errors import ServiceError
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.realtime.events import record_event

OPEN = (
    ConversationStatus.bot.value,
    ConversationStatus.queued.value,
    ConversationStatus.assigned.value,
)


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    changed: bool


def require_holder(agent: CurrentAgent, conversation: Conversation, action: str) -> None:
    """Only the assignee or a lead may act on a held conversation; others only read."""
    if agent.is_lead or conversation.assignee_id == agent.id:
        return
    if conversation.assignee_id is None:
        raise ServiceError(409, f"claim the conversation before you {action} it")
    raise ServiceError(403, f"only the assignee or a lead may {action} this conversation")


async def open_count(session: AsyncSession, agent_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Conversation)
        .where(
            col(Conversation.assignee_id) == agent_id,
            col(Conversation.status) == ConversationStatus.assigned.value,
        )
    )
    return int((await session.execute(query)).scalar_one())


async def _emit(
    session: AsyncSession, type_: str, conversation: Conversation, **extra: Any
) -> None:
    data = {"conversation": await conversation_json(session, conversation), **extra}
    await record_event(
        session, type_, data, conversation_id=conversation.id, team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
    )  # fmt: skip


async def _lock_agent(session: AsyncSession, agent_id: int) -> Agent:
    query = select(Agent).where(col(Agent.id) == agent_id)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()  # one claim at a time per agent keeps capacity exact
    return (await session.execute(query)).scalar_one()


async def claim(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if (
        conversation.assignee_id == agent.id
        and conversation.status == ConversationStatus.assigned.value
    ):
        return Outcome(conversation, changed=False)
    if conversation.status == ConversationStatus.resolved.value:
        raise ServiceError(409, "the conversation is resolved: reopen it first")
    me = await _lock_agent(session, agent.id)
    if await open_count(session, agent.id) >= me.capacity:
        raise ServiceError(409, f"you are at your capacity of {me.capacity} open conversations")
    now = utcnow()
    won = await session.execute(
        update(Conversation)
        .where(
            col(Conversation.id) == conversation_id,
            col(Conversation.assignee_id).is_(None),
            col(Conversation.status).in_(OPEN),
        )
        .values(assignee_id=agent.id, status=ConversationStatus.assigned.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount == 0:  # type: ignore[attr-defined]
        await session.rollback()
        holder = await session.get(Conversation, conversation_id)
        name = None
        if holder is not None and holder.assignee_id is not None:
            other = await session.get(Agent, holder.assignee_id)
            name = other.name if other else None
        raise ServiceError(409, f"already claimed by {name}" if name else "already claimed")
    await session.refresh(conversation)
    await _emit(
        session, "conversation.claimed", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


async def release(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status != ConversationStatus.assigned.value:
        raise ServiceError(409, "the conversation is not assigned")
    require_holder(agent, conversation, "release")
    conversation.assignee_id = None
    conversation.status = ConversationStatus.queued.value
    conversation.queued_at = conversation.updated_at = utcnow()
    await session.flush()
    await _emit(
        session, "conversation.released", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


async def transfer(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, *,
    team: str | None = None, agent_id: int | None = None,
) -> Outcome:  # fmt: skip
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status == ConversationStatus.resolved.value:
        raise ServiceError(409, "the conversation is resolved")
    if conversation.assignee_id is not None:
        require_holder(agent, conversation, "transfer")
    elif not agent.is_lead and conversation.team_id not in agent.team_ids:
        raise ServiceError(403, "only a lead may transfer another team's conversation")
    now = utcnow()
    if (team is None) == (agent_id is None):
        raise ServiceError(422, "give either a team or an agent_id")
    if team is not None:
        target = (
            await session.execute(select(Team).where(col(Team.name) == team))
        ).scalar_one_or_none()
        if target is None:
            raise ServiceError(422, f"no team named {team}")
        conversation.team_id = target.id
        conversation.assignee_id = None
        conversation.status = ConversationStatus.queued.value
        conversation.queued_at = now
    else:
        assert agent_id is not None
        target_agent = await session.get(Agent, agent_id)
        if target_agent is None or not target_agent.active:
            raise ServiceError(422, "no such agent")
        if await open_count(session, agent_id) >= target_agent.capacity:
            raise ServiceError(409, f"{target_agent.name} is at capacity")
        conversation.assignee_id = agent_id
        conversation.status = ConversationStatus.assigned.value
    conversation.snoozed_until = conversation.snoozed_by_id = None
    conversation.updated_at = now
    await session.flush()
    await _emit(
        session, "conversation.transferred", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


async def resolve(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status == ConversationStatus.resolved.value:
        return Outcome(conversation, changed=False)
    require_holder(agent, conversation, "resolve")
    conversation.status = ConversationStatus.resolved.value
    conversation.snoozed_until = conversation.snoozed_by_id = None
    conversation.resolved_at = conversation.updated_at = utcnow()
    await session.flush()
    await _emit(
        session, "conversation.resolved", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


async def reopen(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status != ConversationStatus.resolved.value:
        return Outcome(conversation, changed=False)
    newer = (
        await session.execute(
            select(Conversation.id).where(
                col(Conversation.contact_id) == conversation.contact_id,
                col(Conversation.status) != ConversationStatus.resolved.value,
            )
        )
    ).first()
    if newer is not None:
        raise ServiceError(409, "the customer has a newer open conversation")
    conversation.status = ConversationStatus.queued.value
    conversation.assignee_id = None
    conversation.resolved_at = None
    conversation.queued_at = conversation.updated_at = utcnow()
    await session.flush()
    await _emit(
        session, "conversation.reopened", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


MAX_SNOOZE = timedelta(days=366)
SNOOZABLE = (ConversationStatus.queued.value, ConversationStatus.assigned.value)


async def snooze(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, until: datetime
) -> Outcome:
    """Puts the chat aside until `until` (holder or lead). The holder is kept in `snoozed_by_id`
    and as assignee, so it comes back to them; capacity counts only `assigned` chats, so a
    snoozed one frees a slot meanwhile. The timer is an arq job deferred to `until`, enqueued by
    a reaction to `conversation.snoozed` (`hooks.py`), never by this request."""
    conversation = await get_visible(session, agent, conversation_id)
    if (
        conversation.status not in SNOOZABLE
        and conversation.status != ConversationStatus.snoozed.value
    ):
        raise ServiceError(409, f"a {conversation.status} conversation cannot be snoozed")
    if conversation.assignee_id is not None or not agent.is_lead:
        require_holder(agent, conversation, "snooze")
    if until.tzinfo is None:
        raise ServiceError(422, "until needs a time zone (e.g. 2026-12-02T09:00:00+01:00)")
    now = utcnow()
    if until <= now:
        raise ServiceError(422, "until must be in the future")
    if until - now > MAX_SNOOZE:
        raise ServiceError(422, "a conversation can be snoozed for at most a year")
    conversation.status = ConversationStatus.snoozed.value
    conversation.snoozed_until = until
    conversation.snoozed_by_id = conversation.assignee_id
    conversation.updated_at = now
    await session.flush()
    await _emit(
        session, "conversation.snoozed", conversation, by={"id": agent.id, "name": agent.name},
        until=until.isoformat(),
    )  # fmt: skip
    return Outcome(conversation, changed=True)


async def wake(session: AsyncSession, conversation: Conversation, reason: str) -> bool:
    """Ends a snooze (`reason`: `timer` or `customer`): back to its holder when they are online,
    else to its team's queue. False when it was not snoozed (already woken, or re-snoozed)."""
    if conversation.status != ConversationStatus.snoozed.value:
        return False
    holder_id = conversation.snoozed_by_id
    holder = await session.get(Agent, holder_id) if holder_id is not None else None
    now = utcnow()
    back: dict[str, Any] = {"status": ConversationStatus.queued.value, "assignee_id": None,
                            "queued_at": now}  # fmt: skip
    if holder is not None and holder.active and holder.presence == Presence.online.value:
        back = {"status": ConversationStatus.assigned.value, "assignee_id": holder.id}
    # Conditional, like a claim: the timer and a customer message racing wake it once.
    won = await session.execute(
        update(Conversation)
        .where(col(Conversation.id) == conversation.id,
               col(Conversation.status) == ConversationStatus.snoozed.value)
        .values(**back, snoozed_until=None, snoozed_by_id=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if won.rowcount == 0:  # type: ignore[attr-defined]
        return False
    await session.refresh(conversation)
    await _emit(session, "conversation.woken", conversation, reason=reason, holder_id=holder_id)
    return True


async def wake_when_due(session: AsyncSession, conversation_id: int, until: datetime) -> bool:
    """The timer: wakes the chat only if it is still the snooze this timer was set for (arq
    cannot cancel a deferred job, so a re-snoozed or woken chat ignores the old one)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.snoozed_until is None:
        return False
    if abs((conversation.snoozed_until - until).total_seconds()) > 0.001:
        return False
    return await wake(session, conversation, "timer")


async def overdue_snoozes(session: AsyncSession, limit: int = 200) -> list[Conversation]:
    """Snoozes whose time has passed (their deferred job was lost with Redis): the sweep's list."""
    query = (
        select(Conversation)
        .where(
            col(Conversation.status) == ConversationStatus.snoozed.value,
            col(Conversation.snoozed_until) <= utcnow(),
        )
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def hand_back_all(session: AsyncSession, agent_id: int) -> list[Conversation]:
    """A deactivated agent's open conversations go back to their teams' queues, each with a
    note saying why (the `agent.deactivated` reaction's job). Only while the agent is still
    inactive, and only what they still hold, so a repeated job changes nothing twice."""
    holder = await session.get(Agent, agent_id)
    if holder is None or holder.active:
        return []
    held = (
        await session.execute(
            select(Conversation).where(
                col(Conversation.assignee_id) == agent_id,
                col(Conversation.status) == ConversationStatus.assigned.value,
            ).order_by(col(Conversation.id))
        )
    ).scalars()  # fmt: skip
    moved = []
    for conversation in list(held):
        conversation.assignee_id = None
        conversation.status = ConversationStatus.queued.value
        conversation.queued_at = conversation.updated_at = utcnow()
        await session.flush()
        await write_note(
            session, conversation,
            f"Back in the queue: {holder.name} was deactivated while holding this conversation.",
            "agent_deactivated", {"agent": {"id": agent_id, "name": holder.name}},
        )  # fmt: skip
        await _emit(
            session, "conversation.released", conversation,
            by={"id": agent_id, "name": holder.name, "reason": "deactivated"},
        )  # fmt: skip
        moved.append(conversation)
    return moved
