"""The websocket over a real socket: auth, origin, live events, replay after `seq`, visibility."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import login, unique
from tests.support.servers import LiveServer
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


def ws_url(server: LiveServer, token: str | None = None, after: int | None = None) -> str:
    query = [f"token={token}"] if token else []
    if after is not None:
        query.append(f"after={after}")
    return f"ws://127.0.0.1:{server.port}/api/v1/ws" + ("?" + "&".join(query) if query else "")


async def frames_until(
    socket: ClientConnection, predicate: Any, within: float = 5.0
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await socket.recv())
            seen.append(frame)
            if predicate(frame):
                return seen


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_unauthenticated_sockets_are_closed_with_4401(server: LiveServer) -> None:
    for url in (ws_url(server), ws_url(server, token="not-a-token")):
        async with connect(url) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_foreign_origin_is_refused(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("agent"))
    async with connect(ws_url(server, token_of(headers)), origin="https://evil.example") as socket:  # type: ignore[arg-type]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_live_events_arrive_in_order_with_the_contract_envelope(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("lead"))
    async with connect(ws_url(server, token_of(headers))) as socket:
        wa_id = new_wa_id()
        wamid = await customer_says(client, wa_id, "live, please")
        frames = await frames_until(
            socket,
            lambda f: (
                f["type"] == "conversation.queued"
                and f["data"]["conversation"]["contact"]["wa_id"] == wa_id
            ),
        )
    mine = [f for f in frames if f["conversation_id"] == frames[-1]["conversation_id"]]
    assert [f["type"] for f in mine] == [
        "conversation.created",
        "message.created",
        "conversation.queued",
    ]
    assert mine[1]["data"]["message"]["provider_message_id"] == wamid
    for frame in frames:
        assert set(frame) == {"seq", "type", "conversation_id", "at", "data"}
        assert frame["at"].endswith("+00:00")
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_a_reconnect_with_after_replays_everything_missed_then_goes_live(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("lead"))
    latest = (
        await client.get("/api/v1/events", params={"limit": 1, "after": 10**9}, headers=headers)
    ).json()["latest_seq"]
    missed = [new_wa_id() for _ in range(3)]
    for wa_id in missed:
        await customer_says(client, wa_id, "while you were away")
    async with connect(ws_url(server, token_of(headers), after=latest)) as socket:
        live = new_wa_id()
        await customer_says(client, live, "and now live")
        frames = await frames_until(
            socket,
            lambda f: (
                f["type"] == "message.created" and f["data"]["message"]["text"] == "and now live"
            ),
        )
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), "in order, no duplicates"
    assert seqs[0] == latest + 1, "nothing missed at the start"
    assert seqs == list(range(latest + 1, latest + 1 + len(seqs))), "no gap"
    texts = [f["data"]["message"]["text"] for f in frames if f["type"] == "message.created"]
    assert texts == ["while you were away"] * 3 + ["and now live"]


async def test_agents_only_see_their_teams(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any
) -> None:
    other_team = unique("Other")
    outsider = await login(client, await make_agent("agent", teams=[other_team]))
    insider = await login(client, await make_agent("agent", teams=["General"]))
    async with (
        connect(ws_url(server, token_of(outsider))) as out_socket,
        connect(ws_url(server, token_of(insider))) as in_socket,
    ):
        wa_id = new_wa_id()
        await customer_says(client, wa_id, "for General only")
        await frames_until(in_socket, lambda f: f["type"] == "conversation.queued")
        conversation = await find_conversation(client, insider, wa_id)
        moved = await client.post(f"/api/v1/conversations/{conversation['id']}/transfer", json={"team": other_team},
                                  headers=await login(client, await make_agent("lead")))  # fmt: skip
        assert moved.status_code == 200
        frames = await frames_until(out_socket, lambda f: f["type"] == "conversation.transferred")
    assert all(
        f["conversation_id"] != conversation["id"] or f["type"] == "conversation.transferred"
        for f in frames
    )
