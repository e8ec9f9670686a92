"""Claim, release, transfer, resolve over HTTP: exactly one winner, and only holders act."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def queued_conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "I need help")
    return await find_conversation(client, headers, wa_id)


async def test_fifty_concurrent_claims_have_exactly_one_winner(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agents = [await make_agent("agent") for _ in range(50)]
    headers = [await login(client, agent) for agent in agents]
    conversation = await queued_conversation(client, headers[0])
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=h)
            for h in headers
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 49, codes
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["status"] == "assigned"
    loser = next(r for r in responses if r.status_code == 409).json()
    assert winner["assignee"]["name"] in loser["detail"]
    final = (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=headers[0])
    ).json()
    assert final["assignee"] == winner["assignee"]


async def test_capacity_is_enforced(client: httpx.AsyncClient, make_agent: Any) -> None:
    agent = await make_agent("agent", capacity=2)
    headers = await login(client, agent)
    conversations = [await queued_conversation(client, headers) for _ in range(3)]
    first, second, third = [
        await client.post(f"/api/v1/conversations/{c['id']}/claim", headers=headers)
        for c in conversations
    ]
    assert first.status_code == 200 and second.status_code == 200
    assert third.status_code == 409 and "capacity" in third.json()["detail"]
    assert (
        await client.post(
            f"/api/v1/conversations/{conversations[0]['id']}/resolve", headers=headers
        )
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/conversations/{conversations[2]['id']}/claim", headers=headers)
    ).status_code == 200


async def test_only_the_holder_or_a_lead_acts(client: httpx.AsyncClient, make_agent: Any) -> None:
    alice, bob, lead = (
        await make_agent("agent"),
        await make_agent("agent"),
        await make_agent("lead"),
    )
    a, b, lead_headers = (
        await login(client, alice),
        await login(client, bob),
        await login(client, lead),
    )
    conversation = await queued_conversation(client, a)
    cid = conversation["id"]
    assert (await client.post(f"/api/v1/conversations/{cid}/claim", headers=a)).status_code == 200
    for action in ("release", "resolve"):
        assert (
            await client.post(f"/api/v1/conversations/{cid}/{action}", headers=b)
        ).status_code == 403
    assert (
        await client.post(
            f"/api/v1/conversations/{cid}/transfer", json={"team": "General"}, headers=b
        )
    ).status_code == 403
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "hi"}, headers=b
    )
    assert reply.status_code == 409
    assert (await client.get(f"/api/v1/conversations/{cid}/messages", headers=b)).status_code == 200
    released = await client.post(f"/api/v1/conversations/{cid}/release", headers=lead_headers)
    assert (
        released.status_code == 200
        and released.json()["status"] == "queued"
        and released.json()["assignee"] is None
    )


async def test_transfer_to_a_team_and_to_an_agent(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    team = unique("Team")
    alice = await make_agent("agent", teams=["General", team])
    bob = await make_agent("agent", teams=[team])
    a = await login(client, alice)
    conversation = await queued_conversation(client, a)
    cid = conversation["id"]
    await client.post(f"/api/v1/conversations/{cid}/claim", headers=a)
    moved = await client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"team": team}, headers=a
    )
    assert moved.status_code == 200
    assert (
        moved.json()["team"] == team
        and moved.json()["status"] == "queued"
        and moved.json()["assignee"] is None
    )
    outsider = await make_agent("agent", teams=["General"])
    assert (
        await client.get(f"/api/v1/conversations/{cid}", headers=await login(client, outsider))
    ).status_code == 404
    await client.post(f"/api/v1/conversations/{cid}/claim", headers=a)
    handed = await client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"agent_id": bob["id"]}, headers=a
    )
    assert handed.status_code == 200 and handed.json()["assignee"]["id"] == bob["id"]
    bad = await client.post(
        f"/api/v1/conversations/{cid}/transfer",
        json={"team": "No Such Team"},
        headers=await login(client, bob),
    )
    assert bad.status_code == 422


async def test_list_filters(client: httpx.AsyncClient, make_agent: Any) -> None:
    agent = await make_agent("agent")
    headers = await login(client, agent)
    mine = await queued_conversation(client, headers)
    waiting = await queued_conversation(client, headers)
    await client.post(f"/api/v1/conversations/{mine['id']}/claim", headers=headers)
    assigned = (
        await client.get("/api/v1/conversations", params={"assignee": "me"}, headers=headers)
    ).json()["items"]
    assert [c["id"] for c in assigned] == [mine["id"]]
    queued = (
        await client.get("/api/v1/conversations", params={"status": "queued"}, headers=headers)
    ).json()["items"]
    assert waiting["id"] in [c["id"] for c in queued] and mine["id"] not in [
        c["id"] for c in queued
    ]
    teams = (await client.get("/api/v1/teams", headers=headers)).json()["items"]
    general = next(t for t in teams if t["name"] == "General")
    assert general["queued"] >= 1 and general["oldest_wait_seconds"] >= 0
