"""Who may see a conversation: the one rule, used by routes, the websocket, search and mentions.

Leads and admins see everything; an agent sees the conversations of their teams, the ones they
hold, and unrouted ones (no team yet). The rule is written once here in three forms that must
agree: a predicate on a conversation's routing (`may_see`, what the socket applies to each event
without a query), a SQL clause (`visible_clause`, for lists and search) and a loader that answers
404 for what the caller may not see (`get_visible`: not 403, so ids are not probed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.conversations.errors import RoutingError
from backend.conversations.models import Contact, Conversation


def may_see(agent: CurrentAgent, team_id: int | None, assignee_id: int | None) -> bool:
    """The rule on a conversation's routing (team and holder), as events carry it."""
    return agent.is_lead or assignee_id == agent.id or team_id is None or team_id in agent.team_ids


def can_see(agent: CurrentAgent, conversation: Conversation) -> bool:
    return may_see(agent, conversation.team_id, conversation.assignee_id)


def visible_clause(agent: CurrentAgent) -> Any:
    """The same rule as a WHERE clause on `conversations`."""
    if agent.is_lead:
        return true()
    return or_(
        col(Conversation.assignee_id) == agent.id,
        col(Conversation.team_id).is_(None),
        col(Conversation.team_id).in_(agent.team_ids),
    )


async def get_visible(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int
) -> Conversation:
    """The conversation, or a 404 when it does not exist or the caller may not see it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not can_see(agent, conversation):
        raise RoutingError(404, "no such conversation")
    return conversation


async def get_visible_contact(
    session: AsyncSession, agent: CurrentAgent, contact_id: int
) -> Contact:
    """A contact is seen through its conversations: a lead sees every one, an agent one that has a
    conversation they may see. A 404 otherwise, like `get_visible`."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise RoutingError(404, "no such contact")
    if agent.is_lead:
        return contact
    seen = await session.execute(
        select(col(Conversation.id))
        .where(col(Conversation.contact_id) == contact_id, visible_clause(agent))
        .limit(1)
    )
    if seen.scalar_one_or_none() is None:
        raise RoutingError(404, "no such contact")
    return contact
