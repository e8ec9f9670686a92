"""Who holds a conversation: claim, release, transfer, resolve, reopen.

Claims are a single conditional UPDATE (`WHERE assignee_id IS NULL`) judged by its row count, so
of any number of agents clicking Claim at once exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Agent, Team
from backend.conversations.errors import RoutingError
from backend.conversations.models import Conversation, ConversationStatus
from backend.conversations.views import conversation_json
from backend.conversations.visibility import get_visible
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.realtime.events import record_event

__all__ = ["RoutingError", "get_visible"]  # re-exported: callers import them from here too

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
        raise RoutingError(409, f"claim the conversation before you {action} it")
    raise RoutingError(403, f"only the assignee or a lead may {action} this conversation")


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
        raise RoutingError(409, "the conversation is resolved: reopen it first")
    me = await _lock_agent(session, agent.id)
    if await open_count(session, agent.id) >= me.capacity:
        raise RoutingError(409, f"you are at your capacity of {me.capacity} open conversations")
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
        raise RoutingError(409, f"already claimed by {name}" if name else "already claimed")
    await session.refresh(conversation)
    await _emit(
        session, "conversation.claimed", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)


async def release(session: AsyncSession, agent: CurrentAgent, conversation_id: int) -> Outcome:
    conversation = await get_visible(session, agent, conversation_id)
    if conversation.status != ConversationStatus.assigned.value:
        raise RoutingError(409, "the conversation is not assigned")
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
        raise RoutingError(409, "the conversation is resolved")
    if conversation.assignee_id is not None:
        require_holder(agent, conversation, "transfer")
    elif not agent.is_lead and conversation.team_id not in agent.team_ids:
        raise RoutingError(403, "only a lead may transfer another team's conversation")
    now = utcnow()
    if (team is None) == (agent_id is None):
        raise RoutingError(422, "give either a team or an agent_id")
    if team is not None:
        target = (
            await session.execute(select(Team).where(col(Team.name) == team))
        ).scalar_one_or_none()
        if target is None:
            raise RoutingError(422, f"no team named {team}")
        conversation.team_id = target.id
        conversation.assignee_id = None
        conversation.status = ConversationStatus.queued.value
        conversation.queued_at = now
    else:
        assert agent_id is not None
        target_agent = await session.get(Agent, agent_id)
        if target_agent is None or not target_agent.active:
            raise RoutingError(422, "no such agent")
        if await open_count(session, agent_id) >= target_agent.capacity:
            raise RoutingError(409, f"{target_agent.name} is at capacity")
        conversation.assignee_id = agent_id
        conversation.status = ConversationStatus.assigned.value
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
        raise RoutingError(409, "the customer has a newer open conversation")
    conversation.status = ConversationStatus.queued.value
    conversation.assignee_id = None
    conversation.resolved_at = None
    conversation.queued_at = conversation.updated_at = utcnow()
    await session.flush()
    await _emit(
        session, "conversation.reopened", conversation, by={"id": agent.id, "name": agent.name}
    )
    return Outcome(conversation, changed=True)
