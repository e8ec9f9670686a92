"""What agents may do to a conversation: claim, release, transfer, resolve, reopen, snooze.

Each function checks who asks (visibility, holder or lead, capacity, the target team or agent)
and then makes the move through `lifecycle.py`, which owns the transition table, the writes and
the events. Claims stay a single conditional UPDATE there, so of any number of agents clicking
Claim at once exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Agent, Team
from backend.conversations import lifecycle
from backend.conversations.lifecycle import Move, wake
from backend.conversations.models import Conversation, ConversationStatus
from backend.conversations.notes import write_note
from backend.conversations.visibility import get_visible
from backend.core.errors import ServiceError
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.realtime.types import By


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


def _by(agent: CurrentAgent) -> By:
    return {"id": agent.id, "name": agent.name}


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
    if not await lifecycle.assign(session, conversation, agent.id, by=_by(agent)):
        await session.rollback()
        holder = await session.get(Conversation, conversation_id)
        name = None
        if holder is not None and holder.assignee_id is not None:
            other = await session.get(Agent, holder.assignee_id)
            name = other.name if other else None
        raise ServiceError(409, f"already claimed by {name}" if name else "already claimed")
    return Outcome(conversation, changed=True)


async def release(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status != ConversationStatus.assigned.value:
        raise ServiceError(409, "the conversation is not assigned")
    require_holder(agent, conversation, "release")
    await lifecycle.release(session, conversation, by=_by(agent))
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
    if (team is None) == (agent_id is None):
        raise ServiceError(422, "give either a team or an agent_id")
    if team is not None:
        target = (
            await session.execute(select(Team).where(col(Team.name) == team))
        ).scalar_one_or_none()
        if target is None:
            raise ServiceError(422, f"no team named {team}")
        await lifecycle.transfer(session, conversation, by=_by(agent), team_id=target.id)
    else:
        assert agent_id is not None
        target_agent = await session.get(Agent, agent_id)
        if target_agent is None or not target_agent.active:
            raise ServiceError(422, "no such agent")
        if await open_count(session, agent_id) >= target_agent.capacity:
            raise ServiceError(409, f"{target_agent.name} is at capacity")
        await lifecycle.transfer(session, conversation, by=_by(agent), agent_id=agent_id)
    return Outcome(conversation, changed=True)


async def resolve(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status == ConversationStatus.resolved.value:
        return Outcome(conversation, changed=False)
    require_holder(agent, conversation, "resolve")
    await lifecycle.resolve(session, conversation, by=_by(agent))
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
    await lifecycle.reopen(session, conversation, by=_by(agent))
    return Outcome(conversation, changed=True)


MAX_SNOOZE = timedelta(days=366)


async def snooze(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, until: datetime
) -> Outcome:
    """Puts the chat aside until `until` (holder or lead; see `lifecycle.snooze`). The timer is
    an arq job deferred to `until`, enqueued by a reaction to `conversation.snoozed`
    (`hooks.py`), never by this request."""
    conversation = await get_visible(session, agent, conversation_id)
    if not lifecycle.allowed(Move.snooze, conversation.status):
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
    await lifecycle.snooze(session, conversation, until, by=_by(agent))
    return Outcome(conversation, changed=True)


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
    by: By = {"id": agent_id, "name": holder.name, "reason": "deactivated"}
    for conversation in list(held):
        await lifecycle.release(session, conversation, by=by, announced=False)
        await write_note(
            session, conversation,
            f"Back in the queue: {holder.name} was deactivated while holding this conversation.",
            "agent_deactivated", {"agent": {"id": agent_id, "name": holder.name}},
        )  # fmt: skip
        await lifecycle.announce(session, Move.release, conversation, by=by)
        moved.append(conversation)
    return moved
