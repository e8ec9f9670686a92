"""Configuration changes as live events: typed, for the roles that may see that page, never a
secret, never sent out through an outgoing webhook."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.conftest import login, unique
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer


async def _types_after(client: httpx.AsyncClient, headers: dict[str, str], after: int) -> list[Any]:
    events = (await client.get("/api/v1/events", params={"after": after}, headers=headers)).json()
    return [(e["type"], e["data"]) for e in events["items"]]


async def test_each_role_hears_the_configuration_it_may_see(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    lead = await login(client, await make_agent("lead"))
    agent = await login(client, await make_agent("agent"))
    start = await client.get("/api/v1/events", params={"after": 0, "limit": 1}, headers=admin)
    after = start.json()["latest_seq"]
    token = unique("tok")
    channel = await client.post("/api/v1/channels", headers=admin, json={
        "name": unique("Live"), "phone_number_id": unique("pn"), "access_token": token,
        "app_secret": token + "-app"})  # fmt: skip
    assert channel.status_code == 201, channel.text
    teams = (await client.get("/api/v1/teams", headers=admin)).json()["items"]
    policy = await client.post("/api/v1/sla/policies", headers=admin, json={
        "team_id": teams[0]["id"], "priority": 7, "first_response_seconds": 120})  # fmt: skip
    assert policy.status_code == 201, policy.text
    key = await client.post(
        "/api/v1/api-keys", headers=admin, json={"name": unique("k"), "scopes": ["messages:send"]}
    )
    reply = await client.post("/api/v1/quick-replies", headers=admin, json={
        "shortcut": unique("live"), "title": "Live", "text": "Live text"})  # fmt: skip
    assert reply.status_code == 201

    seen = {name: await _types_after(client, h, after)
            for name, h in (("admin", admin), ("lead", lead), ("agent", agent))}  # fmt: skip
    types = {name: {t for t, _ in events} for name, events in seen.items()}
    assert {"channel.created", "sla_policy.created", "api_key.created", "quick_reply.created"} <= (
        types["admin"]
    )
    assert {"channel.created", "sla_policy.created", "quick_reply.created"} <= types["lead"]
    assert "api_key.created" not in types["lead"]
    assert "quick_reply.created" in types["agent"]
    assert not types["agent"] & {"channel.created", "sla_policy.created", "api_key.created"}
    text = str(seen["admin"])
    assert token not in text and key.json()["key"] not in text
    announced = next(d for t, d in seen["admin"] if t == "channel.created")
    assert set(announced["channel"]) == {"id", "name", "provider"}  # no verify token, no URL
    await client.delete(f"/api/v1/sla/policies/{policy.json()['id']}", headers=admin)
    await client.delete(f"/api/v1/quick-replies/{reply.json()['id']}", headers=admin)


async def test_configuration_events_are_never_sent_out(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    for kind in ("channel.updated", "api_key.created", "webhook_endpoint.created"):
        refused = await client.post("/api/v1/webhook-endpoints", headers=admin, json={
            "url": "http://127.0.0.1:9/x", "events": [kind]})  # fmt: skip
        assert refused.status_code == 422, refused.text


async def test_an_admins_socket_hears_a_change_at_once(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    async with connect(ws_url(server, token_of(admin))) as socket:
        shortcut = unique("sock")
        made = await client.post("/api/v1/quick-replies", headers=admin, json={
            "shortcut": shortcut, "title": "Socket", "text": "From the socket"})  # fmt: skip
        frames = await frames_until(
            socket, lambda f: f["type"] == "quick_reply.created"
            and f["data"]["quick_reply"]["shortcut"] == shortcut,
        )  # fmt: skip
        assert frames[-1]["conversation_id"] is None
        await client.delete(f"/api/v1/quick-replies/{made.json()['id']}", headers=admin)
