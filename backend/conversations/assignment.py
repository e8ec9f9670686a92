"""Auto-assign: a team's queue drains into its online agents the moment capacity frees.

Event-driven, not swept: whatever can change the balance (a conversation queued, released,
transferred or resolved, an agent coming online) is an event, and the `drain_on_events` reaction
(`conversations/hooks.py`) asks the worker to drain the teams concerned, one job per team at a
time. Each assignment is `lifecycle.assign`, the same conditional UPDATE as a manual claim, so an
agent clicking Claim at the same moment cannot collide with it.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, AgentTeam, Presence, Team
from backend.conversations import lifecycle
from backend.conversations.models import Conversation, ConversationStatus
from backend.core.logging import get_logger
from backend.db.engine import serialize_writes

log = get_logger(__name__)

QUEUED = (ConversationStatus.queued.value,)  # auto-assign takes from the queue only, never a bot

DRAIN_JOB = "drain_queue"
DRAIN_AGENT_JOB = "drain_agent"
HAND_BACK_JOB = "hand_back_conversations"


async def _next_agent(session: AsyncSession, team_id: int) -> int | None:
    """The online team member with the fewest open chats, under their capacity."""
    open_chats = (
        select(col(Conversation.assignee_id), func.count().label("open"))
        .where(col(Conversation.status) == ConversationStatus.assigned.value)
        .group_by(col(Conversation.assignee_id))
        .subquery()
    )
    load = func.coalesce(open_chats.c.open, 0)
    query = (
        select(col(Agent.id))
        .join(AgentTeam, col(AgentTeam.agent_id) == col(Agent.id))
        .outerjoin(open_chats, open_chats.c.assignee_id == col(Agent.id))
        .where(
            col(AgentTeam.team_id) == team_id,
            col(Agent.active).is_(True),
            col(Agent.presence) == Presence.online.value,
            load < col(Agent.capacity),
        )
        .order_by(load, col(Agent.id))
        .limit(1)
    )
    agent_id: int | None = (await session.execute(query)).scalar_one_or_none()
    return agent_id


async def _oldest_queued(session: AsyncSession, team_id: int) -> Conversation | None:
    query = (
        select(Conversation)
        .where(col(Conversation.team_id) == team_id, col(Conversation.status) == ConversationStatus.queued.value,
               col(Conversation.assignee_id).is_(None))
        .order_by(col(Conversation.priority).desc(), col(Conversation.queued_at), col(Conversation.id))
        .limit(1)
    )  # fmt: skip
    return (await session.execute(query)).scalar_one_or_none()


async def drain_team(session: AsyncSession, team_id: int, limit: int = 200) -> int:
    """Assigns queued conversations while someone has room; returns how many. Caller commits.

    Who has room is read first: drains (and other transactions that read before they decide)
    take the writers' lock, so two drains never both give an agent their last free place."""
    await serialize_writes(session)
    team = await session.get(Team, team_id)
    if team is None or not team.auto_assign:
        return 0
    assigned = 0
    while assigned < limit:
        conversation = await _oldest_queued(session, team_id)
        if conversation is None:
            break
        agent_id = await _next_agent(session, team_id)
        if agent_id is None:
            break
        if not await lifecycle.assign(
            session, conversation, agent_id, by={"auto_assign": True}, only_from=QUEUED
        ):
            continue  # claimed by hand a moment ago: try the next one
        assigned += 1
    return assigned


async def teams_of(session: AsyncSession, agent_id: int) -> list[int]:
    rows = await session.execute(
        select(col(AgentTeam.team_id)).where(col(AgentTeam.agent_id) == agent_id)
    )
    return list(rows.scalars())
