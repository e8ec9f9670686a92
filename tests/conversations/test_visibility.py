"""The one visibility rule: its predicate, its SQL clause and the HTTP routes agree, agent by agent."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import col, select

from backend.agents.auth import load_current_agent
from backend.agents.services import get_or_create_team
from backend.channels.models import Channel
from backend.conversations.models import Contact, Conversation
from backend.conversations.visibility import can_see, visible_clause
from backend.core.context import AppContext
from tests.conftest import login, unique
from tests.support.whatsapp import new_wa_id


async def _conversations(ctx: AppContext, holder_id: int, team_a: str, team_b: str) -> list[int]:
    """Four resolved conversations: team A, team B held by `holder`, team B, and unrouted."""
    async with ctx.sessions() as session:
        channel = (await session.execute(select(Channel).limit(1))).scalar_one()
        a = await get_or_create_team(session, team_a)
        b = await get_or_create_team(session, team_b)
        ids = []
        for team_id, assignee_id in ((a.id, None), (b.id, holder_id), (b.id, None), (None, None)):
            contact = Contact(channel_id=channel.id or 0, wa_id=new_wa_id(), name=unique("Vis"))
            session.add(contact)
            await session.flush()
            conversation = Conversation(
                channel_id=channel.id or 0, contact_id=contact.id or 0, status="resolved",
                team_id=team_id, assignee_id=assignee_id,
            )  # fmt: skip
            session.add(conversation)
            await session.flush()
            ids.append(conversation.id or 0)
        await session.commit()
    return ids


async def test_predicate_clause_and_routes_agree(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    team_a, team_b = unique("VisA"), unique("VisB")
    member = await make_agent("agent", teams=[team_a])
    holder = await make_agent("agent", teams=[team_a])
    outsider = await make_agent("agent", teams=[unique("VisC")])
    lead = await make_agent("lead", teams=[])
    ids = await _conversations(ctx, holder["id"], team_a, team_b)
    expected = {
        member["id"]: [True, False, False, True],
        holder["id"]: [True, True, False, True],
        outsider["id"]: [False, False, False, True],
        lead["id"]: [True, True, True, True],
    }
    for agent in (member, holder, outsider, lead):
        current = await load_current_agent(ctx, agent["id"])
        assert current is not None
        async with ctx.sessions() as session:
            rows = {c.id: c for c in (await session.execute(
                select(Conversation).where(col(Conversation.id).in_(ids))
            )).scalars()}  # fmt: skip
            by_rule = [await can_see(session, current, rows[i]) for i in ids]
            by_sql = set(
                (
                    await session.execute(
                        select(Conversation.id).where(
                            col(Conversation.id).in_(ids), visible_clause(current)
                        )
                    )
                ).scalars()
            )
        headers = await login(client, agent)
        by_route = [
            (await client.get(f"/api/v1/conversations/{i}", headers=headers)).status_code == 200
            for i in ids
        ]
        listed = {
            c["id"]
            for c in (
                await client.get(
                    "/api/v1/conversations", params={"status": "resolved", "limit": 500},
                    headers=headers,
                )
            ).json()["items"]
        }  # fmt: skip
        assert by_rule == expected[agent["id"]], agent
        assert [i in by_sql for i in ids] == by_rule
        assert by_route == by_rule
        assert [i in listed for i in ids] == by_rule
