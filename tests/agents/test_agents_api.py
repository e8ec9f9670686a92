"""The agents API: create, edit, deactivate (every session and socket ended at once, chats back
in their queues with a note), reactivate, reset a password, change one's own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from tests.conftest import login, unique
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer, LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id

NEW_PASSWORD = "a-brand-new-password"


def new_agent_body(**extra: Any) -> dict[str, Any]:
    return {"email": f"{unique('new')}@example.test", "password": "initial-password-1",
            "name": "Nia Newcomer", **extra}  # fmt: skip


def field_errors(response: httpx.Response) -> dict[str, str]:
    """What the admin console shows beside each field: Litestar's `extra` entries."""
    return {entry["key"]: entry["message"] for entry in response.json().get("extra") or []}


async def test_an_admin_creates_an_agent_who_then_signs_in(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    team = unique("Returns")
    admin = await make_agent("admin", teams=[team])
    headers = await login(client, admin)
    body = new_agent_body(teams=[team], capacity=3, role="lead")
    created = await client.post("/api/v1/agents", json=body, headers=headers)
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["teams"] == [team] and agent["capacity"] == 3 and agent["role"] == "lead"
    assert agent["active"] is True
    signed_in = await client.post(
        "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["agent"]["id"] == agent["id"]

    # Without teams, the new agent joins the default channel's team (WHATSAPP_DEFAULT_TEAM).
    plain = await client.post("/api/v1/agents", json=new_agent_body(), headers=headers)
    assert plain.status_code == 201, plain.text
    assert plain.json()["teams"] == ["General"]


async def test_invalid_agents_are_refused_with_the_field_named(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("admin"))
    typo = await client.post(
        "/api/v1/agents", json=new_agent_body(teams=["No Such Team Here"]), headers=headers
    )
    assert typo.status_code == 422, typo.text
    assert field_errors(typo) == {"teams": "no team named No Such Team Here"}
    short = await client.post(
        "/api/v1/agents", json=new_agent_body(password="short"), headers=headers
    )
    assert short.status_code == 422 and "password" in field_errors(short)
    body = new_agent_body()
    assert (await client.post("/api/v1/agents", json=body, headers=headers)).status_code == 201
    again = await client.post("/api/v1/agents", json={**body, "name": "Twin"}, headers=headers)
    assert again.status_code == 409 and "email" in field_errors(again)
    listed = await client.get("/api/v1/agents", params={"q": body["email"]}, headers=headers)
    assert [a["email"] for a in listed.json()["items"]] == [body["email"]]


async def test_only_admins_change_agents(client: httpx.AsyncClient, make_agent: Any) -> None:
    target = await make_agent("agent")
    for role in ("agent", "lead"):
        headers = await login(client, await make_agent(role))
        refused = await client.patch(
            f"/api/v1/agents/{target['id']}", json={"name": "Mallory"}, headers=headers
        )
        assert refused.status_code == 403, role
        reset = await client.post(
            f"/api/v1/agents/{target['id']}/password", json={"password": NEW_PASSWORD},
            headers=headers,
        )  # fmt: skip
        assert reset.status_code == 403, role
    lead = await login(client, await make_agent("lead"))
    assert (await client.get("/api/v1/agents", headers=lead)).status_code == 200


async def test_an_admin_edits_name_role_teams_and_capacity(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    first, second = unique("Alpha"), unique("Beta")
    admin = await make_agent("admin", teams=[first, second])
    headers = await login(client, admin)
    agent = await make_agent("agent", teams=[first])
    changed = await client.patch(
        f"/api/v1/agents/{agent['id']}",
        json={"name": "Renamed Person", "role": "lead", "teams": [second], "capacity": 9},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    view = changed.json()
    assert (view["name"], view["role"], view["teams"], view["capacity"]) == (
        "Renamed Person", "lead", [second], 9,
    )  # fmt: skip
    me = await client.get("/api/v1/auth/me", headers=await login(client, agent))
    assert me.json()["teams"] == [second] and me.json()["role"] == "lead"

    bad = await client.patch(f"/api/v1/agents/{agent['id']}", json={"capacity": 0}, headers=headers)
    assert bad.status_code == 400 or bad.status_code == 422, bad.text
    unknown = await client.patch(
        f"/api/v1/agents/{agent['id']}", json={"teams": ["Nope " + first]}, headers=headers
    )
    assert unknown.status_code == 422 and "teams" in field_errors(unknown)
    again = await client.get("/api/v1/auth/me", headers=await login(client, agent))
    assert again.json()["teams"] == [second]  # a refused change changes nothing
    myself = await client.patch(
        f"/api/v1/agents/{admin['id']}", json={"active": False}, headers=headers
    )
    assert myself.status_code == 409 and "active" in field_errors(myself)
    missing = await client.patch("/api/v1/agents/999999", json={"name": "x"}, headers=headers)
    assert missing.status_code == 404


async def test_deactivation_ends_sessions_and_sockets_and_requeues_chats(
    client: httpx.AsyncClient, make_agent: Any, server: LiveServer, worker: LiveWorker
) -> None:
    team = unique("Leavers")
    admin_headers = await login(client, await make_agent("admin", teams=[team]))
    agent = await make_agent("agent", teams=["General", team], name="Dana Departing")
    laptop, phone = await login(client, agent), await login(client, agent)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Where is my parcel?", name="Piet Parcel")
    conversation = await find_conversation(client, laptop, wa_id)
    claimed = await client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=laptop)
    assert claimed.status_code == 200, claimed.text

    async with (
        connect(ws_url(server, token_of(laptop))) as first,
        connect(ws_url(server, token_of(phone))) as second,
    ):
        # Both sockets are live: a customer message reaches them.
        await customer_says(client, wa_id, "Any news?", name="Piet Parcel")
        for socket in (first, second):
            await frames_until(socket, lambda f: f["type"] == "message.created")

        off = await client.patch(
            f"/api/v1/agents/{agent['id']}", json={"active": False}, headers=admin_headers
        )
        assert off.status_code == 200, off.text
        assert off.json()["active"] is False
        for socket in (first, second):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    for headers in (laptop, phone):
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    refused = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert refused.status_code == 401
    async with connect(ws_url(server, token_of(laptop))) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    async def back_in_queue() -> dict[str, Any] | None:
        found = await find_conversation(client, admin_headers, wa_id)
        return found if found["status"] == "queued" and found["assignee"] is None else None

    requeued = await eventually(back_in_queue, what="the chat back in its queue")
    assert requeued["team"] == "General"
    messages = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=admin_headers
    )
    notes = [
        m
        for m in messages.json()["items"]
        if (m["payload"] or {}).get("note") == "agent_deactivated"
    ]
    assert len(notes) == 1 and "Dana Departing was deactivated" in notes[0]["text"]
    listed = await client.get("/api/v1/agents", headers=admin_headers)
    assert agent["id"] not in [a["id"] for a in listed.json()["items"]]
    everyone = await client.get(
        "/api/v1/agents", params={"include_inactive": "true"}, headers=admin_headers
    )
    assert agent["id"] in [a["id"] for a in everyone.json()["items"]]

    # Reactivated: they sign in again, but the sessions that were ended stay ended.
    on = await client.patch(
        f"/api/v1/agents/{agent['id']}", json={"active": True}, headers=admin_headers
    )
    assert on.status_code == 200 and on.json()["active"] is True
    assert (await client.get("/api/v1/auth/me", headers=laptop)).status_code == 401
    fresh = await login(client, agent)
    assert (await client.get("/api/v1/auth/me", headers=fresh)).status_code == 200


async def test_an_admin_resets_a_password_and_old_sessions_end(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin_headers = await login(client, await make_agent("admin"))
    agent = await make_agent("agent")
    old_session = await login(client, agent)
    short = await client.post(
        f"/api/v1/agents/{agent['id']}/password", json={"password": "short"},
        headers=admin_headers,
    )  # fmt: skip
    assert short.status_code == 422 and "password" in field_errors(short)
    assert (await client.get("/api/v1/auth/me", headers=old_session)).status_code == 200
    reset = await client.post(
        f"/api/v1/agents/{agent['id']}/password", json={"password": NEW_PASSWORD},
        headers=admin_headers,
    )  # fmt: skip
    assert reset.status_code == 200, reset.text
    assert (await client.get("/api/v1/auth/me", headers=old_session)).status_code == 401
    old = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert old.status_code == 401
    await login(client, {**agent, "password": NEW_PASSWORD})


async def test_an_agent_changes_their_own_password(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent")
    here, elsewhere = await login(client, agent), await login(client, agent)
    wrong = await client.post(
        "/api/v1/me/password", json={"current": "not-my-password", "new": NEW_PASSWORD},
        headers=here,
    )  # fmt: skip
    assert wrong.status_code == 403 and "current" in field_errors(wrong)
    weak = await client.post(
        "/api/v1/me/password", json={"current": agent["password"], "new": "short"}, headers=here
    )
    assert weak.status_code == 422 and "new" in field_errors(weak)
    changed = await client.post(
        "/api/v1/me/password", json={"current": agent["password"], "new": NEW_PASSWORD},
        headers=here,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    # This session goes on with the new token; every other one has ended.
    renewed = {"Authorization": f"Bearer {changed.json()['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=renewed)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=elsewhere)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=here)).status_code == 401
    await login(client, {**agent, "password": NEW_PASSWORD})


async def test_a_one_time_set_password_link(client: httpx.AsyncClient, make_agent: Any) -> None:
    admin = await login(client, await make_agent("admin"))
    agent = await make_agent("agent")
    as_agent = await login(client, agent)
    refused = await client.post(f"/api/v1/agents/{agent['id']}/password-link", headers=as_agent)
    assert refused.status_code == 403
    link = await client.post(f"/api/v1/agents/{agent['id']}/password-link", headers=admin)
    assert link.status_code == 200, link.text
    token = link.json()["token"]
    assert link.json()["url"].endswith(f"/#set-password={token}")
    # The link is no session: it signs no one in.
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
    forged = await client.post(
        "/api/v1/auth/set-password", json={"token": token[:-2] + "xx", "password": NEW_PASSWORD}
    )
    assert forged.status_code == 410 and "token" in field_errors(forged)
    weak = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "short"}
    )
    assert weak.status_code == 422 and "password" in field_errors(weak)
    done = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"email": agent["email"]}
    await login(client, {**agent, "password": NEW_PASSWORD})
    again = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "another-strong-pass-9"}
    )
    assert again.status_code == 410  # used once
