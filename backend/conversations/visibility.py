"""Who may see a conversation: the one rule, used by routes, the websocket, search and mentions.

Leads and admins see everything; an agent sees the conversations of their teams, the ones they
hold, unrouted ones (no team yet), and those a colleague mentioned them in (a `conversation_access`
grant: read and write notes; replying still needs a claim). An agent's private event (a
notification, `recipient_id`) reaches that agent alone, whatever their role.

The rule is written once here in three forms that must agree: a predicate on a conversation's
routing (`may_see`, what the socket applies to each event without a query, given the agent's
grants loaded once), a SQL clause (`visible_clause`, for lists and search) and a loader that
answers 404 for what the caller may not see (`get_visible`: not 403, so ids are not probed).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.conversations.models import Contact, Conversation, ConversationAccess
from backend.core.errors import ServiceError


def may_see(
    agent: CurrentAgent, team_id: int | None, assignee_id: int | None, *,
    conversation_id: int | None = None, granted: Collection[int] = (),
    recipient_id: int | None = None,
) -> bool:  # fmt: skip
    """The rule on a conversation's routing (team, holder, grants), as events carry it."""
    if recipient_id is not None:
        return recipient_id == agent.id
    return (
        agent.is_lead
        or assignee_id == agent.id
        or team_id is None
        or team_id in agent.team_ids
        or (conversation_id is not None and conversation_id in granted)
    )


def _granted_ids(agent_id: int) -> Any:
    return select(col(ConversationAccess.conversation_id)).where(
        col(ConversationAccess.agent_id) == agent_id
    )


def visible_clause(agent: CurrentAgent) -> Any:
    """The same rule as a WHERE clause on `conversations`."""
    if agent.is_lead:
        return true()
    return or_(
        col(Conversation.assignee_id) == agent.id,
        col(Conversation.team_id).is_(None),
        col(Conversation.team_id).in_(agent.team_ids),
        col(Conversation.id).in_(_granted_ids(agent.id)),
    )


async def granted(session: AsyncSession, agent_id: int) -> set[int]:
    """The conversations the agent was let into by a mention (the socket loads them once)."""
    return set((await session.execute(_granted_ids(agent_id))).scalars())


async def has_grant(session: AsyncSession, agent_id: int, conversation_id: int) -> bool:
    found = await session.execute(
        select(ConversationAccess.id).where(
            col(ConversationAccess.agent_id) == agent_id,
            col(ConversationAccess.conversation_id) == conversation_id,
        )
    )
    return found.first() is not None


async def can_see(session: AsyncSession, agent: CurrentAgent, conversation: Conversation) -> bool:
    if may_see(agent, conversation.team_id, conversation.assignee_id):
        return True
    return conversation.id is not None and await has_grant(session, agent.id, conversation.id)


async def get_visible(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int
) -> Conversation:
    """The conversation, or a 404 when it does not exist or the caller may not see it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not await can_see(session, agent, conversation):
        raise ServiceError(404, "no such conversation")
    return conversation


async def get_visible_contact(
    session: AsyncSession, agent: CurrentAgent, contact_id: int
) -> Contact:
    """A contact is seen through its conversations: a lead sees every one, an agent one that has a
    conversation they may see. A 404 otherwise, like `get_visible`."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise ServiceError(404, "no such contact")
    if agent.is_lead:
        return contact
    seen = await session.execute(
        select(col(Conversation.id))
        .where(col(Conversation.contact_id) == contact_id, visible_clause(agent))
        .limit(1)
    )
    if seen.scalar_one_or_none() is None:
        raise ServiceError(404, "no such contact")
    return contact


async def grant(
    session: AsyncSession, agent_id: int, conversation_id: int, message_id: int | None
) -> bool:
    """Lets a mentioned agent in (idempotent); True when the grant is new."""
    if await has_grant(session, agent_id, conversation_id):
        return False
    try:
        async with session.begin_nested():
            session.add(ConversationAccess(
                agent_id=agent_id, conversation_id=conversation_id, message_id=message_id
            ))  # fmt: skip
    except IntegrityError:
        return False  # a concurrent mention granted it first
    return True
