"""Who else has a conversation open: a heartbeat per view, gone when it stops."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def test_agents_see_who_else_is_viewing(client: httpx.AsyncClient, make_agent: Any) -> None:
    alice, bob = (
        await make_agent("agent", name="Alice Viewer"),
        await make_agent("agent", name="Bob Viewer"),
    )
    a, b = await login(client, alice), await login(client, bob)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "anyone there?")
    conversation = await find_conversation(client, a, wa_id)
    first = await client.post(f"/api/v1/conversations/{conversation['id']}/viewers", headers=a)
    assert first.status_code == 200 and first.json()["items"] == []
    second = await client.post(f"/api/v1/conversations/{conversation['id']}/viewers", headers=b)
    assert second.json()["items"] == [{"id": alice["id"], "name": "Alice Viewer"}]
    everyone = (
        await client.get(f"/api/v1/conversations/{conversation['id']}/viewers", headers=a)
    ).json()["items"]
    assert {v["name"] for v in everyone} == {"Alice Viewer", "Bob Viewer"}
    outsider = await login(client, await make_agent("agent", teams=["Nobody's team"]))
    assert (
        await client.post(f"/api/v1/conversations/{conversation['id']}/viewers", headers=outsider)
    ).status_code == 404
