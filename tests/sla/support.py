"""Test helpers: a team of its own with an SLA policy, and conversations queued into it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


@dataclass
class SlaTeam:
    name: str
    id: int
    lead: dict[str, Any]
    lead_headers: dict[str, str]
    agent: dict[str, Any]
    agent_headers: dict[str, str]


async def team_with_policy(client: httpx.AsyncClient, make_agent: Any, **policy: Any) -> SlaTeam:
    name = unique("SLA")
    agent = await make_agent("agent", teams=[name])
    lead = await make_agent("lead", teams=[name])
    lead_headers, agent_headers = await login(client, lead), await login(client, agent)
    teams = (await client.get("/api/v1/teams", headers=lead_headers)).json()["items"]
    team_id = next(t["id"] for t in teams if t["name"] == name)
    if policy:
        created = await client.post(
            "/api/v1/sla/policies", json={"team_id": team_id, **policy}, headers=lead_headers
        )
        assert created.status_code == 201, created.text
    return SlaTeam(name, team_id, lead, lead_headers, agent, agent_headers)


async def queue_into(
    client: httpx.AsyncClient, team: SlaTeam, text: str = "help"
) -> dict[str, Any]:
    """A new customer writes (to General) and a lead moves the conversation to `team`."""
    wa_id = new_wa_id()
    await customer_says(client, wa_id, text)
    conversation = await find_conversation(client, team.lead_headers, wa_id)
    moved = await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer",
        json={"team": team.name}, headers=team.lead_headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    body: dict[str, Any] = moved.json()
    body["wa_id"] = wa_id
    return body


async def conversation(
    client: httpx.AsyncClient, headers: dict[str, str], cid: int
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/conversations/{cid}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def clock(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    sla = body.get("sla") or {}
    found = [c for c in sla.get("clocks", []) if c["kind"] == kind]
    return found[-1] if found else None


async def wait_for(probe: Any, within: float = 8.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)
