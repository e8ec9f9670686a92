"""Auto-assign drains a team's queue into online agents the moment capacity frees."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def test_auto_assign_fills_capacity_and_drains_on_resolve(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker, ctx: Any
) -> None:
    team = unique("Auto")
    agent = await make_agent("agent", teams=[team], capacity=1)
    lead = await make_agent("lead", teams=[team])
    a, lead_headers = await login(client, agent), await login(client, lead)
    teams = (await client.get("/api/v1/teams", headers=lead_headers)).json()["items"]
    team_id = next(t["id"] for t in teams if t["name"] == team)
    assert (
        await client.patch(
            f"/api/v1/teams/{team_id}", json={"auto_assign": True}, headers=lead_headers
        )
    ).status_code == 200
    assert (
        await client.patch(f"/api/v1/teams/{team_id}", json={"auto_assign": True}, headers=a)
    ).status_code == 403

    conversations = []
    for _ in range(2):
        wa_id = new_wa_id()
        await customer_says(client, wa_id, "auto please")
        conversation = await find_conversation(client, lead_headers, wa_id)
        moved = await client.post(
            f"/api/v1/conversations/{conversation['id']}/transfer",
            json={"team": team},
            headers=lead_headers,
        )
        assert moved.status_code == 200
        conversations.append(conversation["id"])
    # Offline agents get nothing; coming online drains the queue up to capacity (1).
    await asyncio.sleep(0.5)
    assert (await client.get("/api/v1/conversations", params={"assignee": "me"}, headers=a)).json()[
        "items"
    ] == []
    assert (
        await client.post("/api/v1/agents/me/presence", json={"presence": "online"}, headers=a)
    ).status_code == 200

    async def mine() -> list[int]:
        items = (
            await client.get("/api/v1/conversations", params={"assignee": "me"}, headers=a)
        ).json()["items"]
        return [c["id"] for c in items if c["status"] == "assigned"]

    first = await eventually(mine)
    assert first == [conversations[0]], "the longest waiting goes first"
    await asyncio.sleep(0.3)
    assert await mine() == first, "capacity 1 holds"
    assert (
        await client.post(f"/api/v1/conversations/{first[0]}/resolve", headers=a)
    ).status_code == 200

    async def second() -> list[int] | None:
        now = await mine()
        return now if now == [conversations[1]] else None

    assert await eventually(second)
    await client.post("/api/v1/agents/me/presence", json={"presence": "away"}, headers=a)
