"""A snoozed chat's resolution clock follows the policy's pause rule: paused while snoozed when
the policy pauses while waiting on the customer, running when it does not; running again on waking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.sla.support import conversation, queue_into, team_with_policy, wait_for
from tests.support.servers import LiveWorker
from tests.support.whatsapp import customer_says


def _resolution(body: dict[str, Any]) -> dict[str, Any] | None:
    clocks = (body.get("sla") or {}).get("clocks") or []
    return next((c for c in clocks if c["kind"] == "resolution"), None)


async def _snoozed_clock_state(
    client: httpx.AsyncClient, make_agent: Any, pause: bool
) -> tuple[str, Any]:
    team = await team_with_policy(client, make_agent, resolution_seconds=7200,
                                  pause_while_waiting_on_customer=pause)  # fmt: skip
    queued = await queue_into(client, team)
    cid = queued["id"]
    assert (
        await client.post(f"/api/v1/conversations/{cid}/claim", headers=team.agent_headers)
    ).status_code == 200

    async def running() -> Any:
        clock = _resolution(await conversation(client, team.agent_headers, cid))
        return clock if clock and clock["state"] == "running" else None

    await wait_for(running)
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    snoozed = await client.post(
        f"/api/v1/conversations/{cid}/snooze", json={"until": until}, headers=team.agent_headers
    )
    assert snoozed.status_code == 200
    expected = "paused" if pause else "running"

    async def settled() -> Any:
        body = await conversation(client, team.agent_headers, cid)
        clock = _resolution(body)
        return (
            clock if body["status"] == "snoozed" and clock and clock["state"] == expected else None
        )

    clock = await wait_for(settled)
    return queued["wa_id"], (team, cid, clock)


async def test_the_resolution_clock_pauses_while_snoozed_when_the_policy_says_so(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    wa_id, (team, cid, clock) = await _snoozed_clock_state(client, make_agent, pause=True)
    assert clock["due_at"] is None  # a paused clock has no deadline
    await customer_says(client, wa_id, "I'm back")

    async def resumed() -> Any:
        found = _resolution(await conversation(client, team.agent_headers, cid))
        return found if found and found["state"] == "running" and found["due_at"] else None

    await wait_for(resumed)


async def test_without_the_pause_rule_the_clock_keeps_running(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    _, (_, _, clock) = await _snoozed_clock_state(client, make_agent, pause=False)
    assert clock["due_at"] is not None
