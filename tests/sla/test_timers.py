"""Exact timers on real Redis with the real worker: a clock warns and breaches within a second
of its moments, a reply that stops it turns its scheduled jobs into no-ops, and a breach
escalates as its policy says."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.jobs import Job
from websockets.asyncio.client import connect

from backend.core.context import QUEUE_NAME, AppContext
from tests.realtime.test_websocket import token_of, ws_url
from tests.sla.support import at, clock, conversation, queue_into, team_with_policy, wait_for
from tests.support.servers import LiveServer, LiveWorker

SECOND = 1.0


async def test_a_clock_warns_and_breaches_within_a_second_of_its_moments(
    client: httpx.AsyncClient, make_agent: Any, server: LiveServer, worker: LiveWorker
) -> None:
    team = await team_with_policy(
        client, make_agent, first_response_seconds=2, warn_at_fraction=0.5, resolution_seconds=3600
    )
    async with connect(ws_url(server, token_of(team.lead_headers))) as socket:
        queued = await queue_into(client, team)
        cid = queued["id"]
        received: dict[str, tuple[dict[str, Any], float]] = {}
        async with asyncio.timeout(8):
            while "sla.breached" not in received:
                frame = json.loads(await socket.recv())
                if frame["conversation_id"] == cid and frame["type"].startswith("sla."):
                    received.setdefault(frame["type"], (frame, time.time()))
    body = await conversation(client, team.lead_headers, cid)
    first = clock(body, "first_response")
    assert first is not None and first["state"] == "breached"
    assert body["sla"]["state"] == "breached"
    started, warn_at, due_at = at(first["started_at"]), at(first["warn_at"]), at(first["due_at"])
    assert (warn_at - started).total_seconds() == 1.0
    assert (due_at - started).total_seconds() == 2.0
    for kind, moment in (("sla.warning", warn_at), ("sla.breached", due_at)):
        frame, seen_at = received[kind]
        late = (at(frame["at"]) - moment).total_seconds()
        assert 0 <= late < SECOND, f"{kind} recorded {late:.3f}s after its moment"
        assert seen_at - moment.timestamp() < SECOND, f"{kind} reached the lead late"
        assert frame["data"]["clock"]["kind"] == "first_response"
        assert frame["data"]["conversation"]["id"] == cid
    assert 0 <= (at(first["breached_at"]) - due_at).total_seconds() < SECOND
    resolution = clock(body, "resolution")
    assert resolution is not None and resolution["state"] == "running"


async def test_a_reply_that_stops_a_clock_makes_its_timers_no_ops(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext, worker: LiveWorker
) -> None:
    team = await team_with_policy(
        client, make_agent, first_response_seconds=2, warn_at_fraction=0.5
    )
    queued = await queue_into(client, team)
    cid = queued["id"]

    async def started() -> dict[str, Any] | None:
        return clock(await conversation(client, team.lead_headers, cid), "first_response")

    before = await wait_for(started)
    assert before["state"] == "running"
    claimed = await client.post(f"/api/v1/conversations/{cid}/claim", headers=team.agent_headers)
    assert claimed.status_code == 200, claimed.text
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "On it!"}, headers=team.agent_headers
    )
    assert reply.status_code == 202, reply.text

    async def met() -> dict[str, Any] | None:
        now = clock(await conversation(client, team.lead_headers, cid), "first_response")
        return now if now and now["state"] == "met" else None

    after = await wait_for(met)
    assert after["version"] > before["version"]
    assert at(after["met_at"]) < at(before["due_at"])

    # The jobs scheduled for the old version still run at their moments, and do nothing.
    queue = ArqRedis(connection_pool=ctx.redis.connection_pool, default_queue_name=QUEUE_NAME)
    outcomes = {}
    for point in ("warning", "breach"):
        job = Job(f"sla:{before['id']}:{before['version']}:{point}", queue, _queue_name=QUEUE_NAME)

        async def ran(job: Job = job) -> Any:
            return await job.result_info()

        result = await wait_for(ran, within=6, interval=0.02)
        outcomes[point] = result.result
    assert outcomes == {"warning": "stale", "breach": "stale"}
    events = (
        await client.get(
            "/api/v1/events", params={"after": 0, "limit": 1000}, headers=team.lead_headers
        )
    ).json()
    latest = events["latest_seq"]
    frames = (
        await client.get(
            "/api/v1/events", params={"after": max(0, latest - 1000), "limit": 1000},
            headers=team.lead_headers,
        )
    ).json()["items"]  # fmt: skip
    mine = [f["type"] for f in frames if f["conversation_id"] == cid]
    assert "sla.warning" not in mine and "sla.breached" not in mine
    final = clock(await conversation(client, team.lead_headers, cid), "first_response")
    assert final is not None and final["state"] == "met"


async def test_a_breach_escalates_as_the_policy_says(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    escalation = await team_with_policy(client, make_agent)
    team = await team_with_policy(
        client, make_agent, first_response_seconds=1, resolution_seconds=3600,
        escalation={"raise_priority": True, "move_to_team_id": escalation.id, "notify_leads": True},
    )  # fmt: skip
    queued = await queue_into(client, team)
    cid = queued["id"]

    async def escalated() -> dict[str, Any] | None:
        body = await conversation(client, team.lead_headers, cid)
        return body if body["team"] == escalation.name else None

    body = await wait_for(escalated)
    assert body["priority"] == 1 and body["status"] == "queued" and body["assignee"] is None
    assert clock(body, "first_response")["state"] == "breached"  # type: ignore[index]
    # The escalation team has no policy: the clocks it would have inherited stop counting.
    assert clock(body, "resolution") is None
    frames = (
        await client.get(
            "/api/v1/events", params={"after": 0, "limit": 1000}, headers=team.lead_headers
        )
    ).json()
    latest = frames["latest_seq"]
    recent = (
        await client.get(
            "/api/v1/events", params={"after": max(0, latest - 500), "limit": 1000},
            headers=team.lead_headers,
        )
    ).json()["items"]  # fmt: skip
    breach = next(f for f in recent if f["conversation_id"] == cid and f["type"] == "sla.breached")
    assert breach["data"]["escalation"] == {
        "raised_priority": 1, "moved_to_team": escalation.name, "notify_leads": True,
    }  # fmt: skip
    moved = [
        f for f in recent if f["conversation_id"] == cid and f["type"] == "conversation.transferred"
    ]
    assert moved[-1]["data"]["by"]["sla"] == "first_response"


async def test_waiting_on_the_customer_pauses_resolution_and_each_wait_gets_a_next_response_clock(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    from tests.support.whatsapp import customer_says

    team = await team_with_policy(
        client, make_agent, first_response_seconds=600, next_response_seconds=300,
        resolution_seconds=7200, pause_while_waiting_on_customer=True,
    )  # fmt: skip
    queued = await queue_into(client, team)
    cid = queued["id"]

    async def states(**expected: str) -> dict[str, Any] | None:
        body = await conversation(client, team.lead_headers, cid)
        got = {kind: (clock(body, kind) or {}).get("state") for kind in expected}
        return body if got == expected else None

    await wait_for(lambda: states(first_response="running", resolution="running"))
    await client.post(f"/api/v1/conversations/{cid}/claim", headers=team.agent_headers)
    await client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Which order?"},
                      headers=team.agent_headers)  # fmt: skip
    body = await wait_for(lambda: states(first_response="met", resolution="paused"))
    assert body["sla"]["due_at"] is None  # nothing is due while the customer is the one to act
    await customer_says(client, queued["wa_id"], "Order 4821")
    body = await wait_for(lambda: states(next_response="running", resolution="running"))
    resolution = clock(body, "resolution")
    assert resolution is not None and resolution["paused_seconds"] > 0
    # The pause pushed the deadline back by exactly its length.
    total = (at(resolution["due_at"]) - at(resolution["started_at"])).total_seconds()
    assert abs(total - (7200 + resolution["paused_seconds"])) < 0.01
    resolved = await client.post(f"/api/v1/conversations/{cid}/resolve", headers=team.agent_headers)
    assert resolved.status_code == 200
    await wait_for(lambda: states(resolution="met", first_response="met"))
    body = await conversation(client, team.lead_headers, cid)
    assert all(c["kind"] != "next_response" for c in body["sla"]["clocks"])  # cancelled: hidden
