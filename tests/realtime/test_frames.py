"""Live frames written straight to uvicorn's transport (backend/realtime/wire.py), and the
`send_text` path kept for everything else: both give every socket its events in seq order, each
one a separate JSON text frame, only those its agent may see; a slow or vanished socket does not
hold back the others.

The test server is uvicorn with permessage-deflate on offer (uvicorn's default): a client that
refuses compression gets the direct path, one that accepts it (as browsers do) the `send_text`
path — the `switchboard_websocket_sockets{path=…}` counter says which each socket took."""

from __future__ import annotations

import asyncio
import json
import re
import socket as stdsocket
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.uri import parse_uri

from backend.agents.services import get_or_create_team
from backend.core.context import AppContext
from backend.realtime.events import publish, record_event, take_pending
from backend.realtime.models import Event
from backend.realtime.routes import CLOSE_TOO_SLOW
from backend.realtime.wire import DirectWriter, FeedSocket, frame_of
from tests.conftest import login, unique
from tests.realtime.test_websocket import token_of, ws_url
from tests.support.servers import LiveServer

PATHS = {"direct": {"compression": None}, "asgi": {}}  # client options → the server's path


def _parsed(data: bytes) -> list[Frame]:
    """What websockets' own client parser makes of bytes a server sent."""
    client = Protocol(Side.CLIENT, state=State.OPEN)  # past the handshake: only frames follow
    client.receive_data(data)
    events = client.events_received()
    assert client.parser_exc is None
    return [e for e in events if isinstance(e, Frame)]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_frame_is_one_unmasked_text_frame_to_the_library_parser(size: int) -> None:
    text = ("é" * size)[:size] if size % 2 else "x" * size
    frames = _parsed(frame_of(text))
    assert len(frames) == 1
    assert frames[0].opcode is Opcode.TEXT and frames[0].fin
    assert bytes(frames[0].data).decode() == text


def test_frames_joined_in_one_write_parse_as_separate_messages() -> None:
    texts = [json.dumps({"seq": n, "pad": "y" * (n * 40)}) for n in range(1, 8)]
    frames = _parsed(b"".join(frame_of(t) for t in texts))
    assert [bytes(f.data).decode() for f in frames] == texts


async def test_another_server_gets_no_direct_writer() -> None:
    """Served by anything but uvicorn's websockets-sansio protocol (here a bare ASGI receive, as a
    test client or another server gives), the socket keeps send_text."""

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        return None

    scope: Any = {"type": "websocket", "path": "/api/v1/ws", "headers": [], "query_string": b""}
    socket = FeedSocket(scope, receive, send)
    assert socket.asgi_receive is receive
    assert DirectWriter.of(socket) is None


async def _metric(client: httpx.AsyncClient, name: str, labels: str = "") -> float:
    text = (await client.get("/metrics")).text
    found = re.search(rf"^{name}_total{re.escape(labels)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _sockets_on(client: httpx.AsyncClient, path: str) -> float:
    return await _metric(client, "switchboard_websocket_sockets", f'{{path="{path}"}}')


async def _events(ctx: AppContext, marker: str, count: int, pad: int = 0, first: int = 0,
                  **routing: Any) -> list[Event]:  # fmt: skip
    """Committed together, handed back unpublished (the test publishes them)."""
    async with ctx.sessions() as session:
        for n in range(first, first + count):
            await record_event(session, "frames.test", {"marker": marker, "n": n, "pad": "p" * pad},
                               **routing)  # fmt: skip
        await session.commit()
        return take_pending(session)


async def _frames(socket: ClientConnection, marker: str, count: int,
                  within: float = 10) -> list[dict[str, Any]]:  # fmt: skip
    """This marker's frames, each decoded on its own (one JSON object a frame)."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while len(seen) < count:
            raw = await socket.recv()
            assert isinstance(raw, str)
            frame = json.loads(raw)
            assert isinstance(frame, dict) and set(frame) == {"seq", "type", "conversation_id",
                                                              "at", "data"}  # fmt: skip
            if frame["type"] == "frames.test" and frame["data"]["marker"] == marker:
                seen.append(frame)
    return seen


async def _nothing_of(socket: ClientConnection, marker: str, within: float = 0.6) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                frame = json.loads(await socket.recv())
                assert frame["data"].get("marker") != marker, "a frame the agent may not see"


async def _url(server: LiveServer, client: httpx.AsyncClient, make_agent: Any, role: str = "agent",
               teams: list[str] | None = None) -> tuple[str, dict[str, Any]]:  # fmt: skip
    agent = await make_agent(role, teams=teams)
    return ws_url(server, token_of(await login(client, agent))), agent


@pytest.mark.parametrize("path", ["direct", "asgi"])
async def test_events_of_one_flush_arrive_in_order_each_its_own_json_frame(
    server: LiveServer, client: httpx.AsyncClient, ctx: AppContext, make_agent: Any, path: str
) -> None:
    urls = [(await _url(server, client, make_agent))[0] for _ in range(3)]
    opened = await _sockets_on(client, path)
    writes, framed = (await _metric(client, "switchboard_websocket_direct_writes"),
                      await _metric(client, "switchboard_websocket_direct_frames"))  # fmt: skip
    async with (
        connect(urls[0], **PATHS[path]) as a,
        connect(urls[1], **PATHS[path]) as b,
        connect(urls[2], **PATHS[path]) as c,
    ):
        await asyncio.sleep(0.3)  # joined the feed
        assert await _sockets_on(client, path) - opened == 3
        marker = unique("flush")
        events = await _events(ctx, marker, 40, pad=300)
        await publish(ctx.redis, events)  # one publish: the feed hands them on in one go
        for socket in (a, b, c):
            frames = await _frames(socket, marker, 40)
            assert [f["data"]["n"] for f in frames] == list(range(40))
            assert [f["seq"] for f in frames] == sorted(f["seq"] for f in frames)
            assert len({f["seq"] for f in frames}) == 40
    if path == "direct":
        frames_written = await _metric(client, "switchboard_websocket_direct_frames") - framed
        writes_made = await _metric(client, "switchboard_websocket_direct_writes") - writes
        assert frames_written >= 120
        assert writes_made < frames_written / 2, "frames of one flush share a write"


@pytest.mark.parametrize("path", ["direct", "asgi"])
async def test_each_socket_gets_only_what_its_agent_may_see(
    server: LiveServer, client: httpx.AsyncClient, ctx: AppContext, make_agent: Any, path: str
) -> None:
    team_a, team_b = unique("TeamA"), unique("TeamB")
    insider_url, _ = await _url(server, client, make_agent, teams=[team_a])
    outsider_url, _ = await _url(server, client, make_agent, teams=[team_b])
    holder_url, holder = await _url(server, client, make_agent, teams=[team_b])  # same class
    lead_url, _ = await _url(server, client, make_agent, role="lead", teams=[team_b])
    async with ctx.sessions() as session:
        team_a_id = (await get_or_create_team(session, team_a)).id
        await session.commit()
    async with (
        connect(insider_url, **PATHS[path]) as insider,
        connect(outsider_url, **PATHS[path]) as outsider,
        connect(holder_url, **PATHS[path]) as holder_socket,
        connect(lead_url, **PATHS[path]) as lead,
    ):
        await asyncio.sleep(0.3)
        team_only, held, private = unique("team"), unique("held"), unique("private")
        events = (
            await _events(ctx, team_only, 3, conversation_id=None, team_id=team_a_id)
            + await _events(ctx, held, 2, team_id=team_a_id, assignee_id=holder["id"])
            + await _events(ctx, private, 1, recipient_id=holder["id"])
        )
        await publish(ctx.redis, events)
        assert len(await _frames(insider, team_only, 3)) == 3
        assert len(await _frames(insider, held, 2)) == 2
        assert len(await _frames(lead, team_only, 3)) == 3
        assert len(await _frames(lead, held, 2)) == 2
        assert len(await _frames(holder_socket, held, 2)) == 2  # the holder, not the team
        assert len(await _frames(holder_socket, private, 1)) == 1
        await _nothing_of(holder_socket, team_only)
        await _nothing_of(outsider, team_only)  # same role and teams as the holder: not theirs
        await _nothing_of(insider, private)
        await _nothing_of(lead, private)


async def _raw_client(url: str) -> tuple[stdsocket.socket, ClientProtocol]:
    """A client that does the handshake and then reads only when told (a tiny receive buffer,
    so the server's transport fills quickly): websockets' sans-I/O client over a plain socket."""
    protocol = ClientProtocol(parse_uri(url))  # no extensions offered: the direct path
    raw = stdsocket.socket()
    raw.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    loop = asyncio.get_running_loop()
    uri = parse_uri(url)
    await loop.sock_connect(raw, (uri.host, uri.port))
    protocol.send_request(protocol.connect())
    for data in protocol.data_to_send():
        await loop.sock_sendall(raw, data)
    while protocol.state is not State.OPEN:
        chunk = await loop.sock_recv(raw, 1024)
        assert chunk, "handshake failed"
        protocol.receive_data(chunk)
        assert protocol.handshake_exc is None
    return raw, protocol


async def _read_until_closed(raw: stdsocket.socket, protocol: ClientProtocol,
                             within: float = 30) -> list[Frame]:  # fmt: skip
    loop = asyncio.get_running_loop()
    frames: list[Frame] = []
    async with asyncio.timeout(within):
        while True:
            chunk = await loop.sock_recv(raw, 65536)
            if not chunk:
                return frames
            protocol.receive_data(chunk)
            for event in protocol.events_received():
                if isinstance(event, Frame):
                    frames.append(event)
                    if event.opcode is Opcode.CLOSE:
                        return frames


async def test_a_slow_socket_is_closed_as_too_slow_and_the_others_get_everything(
    server: LiveServer, client: httpx.AsyncClient, ctx: AppContext, make_agent: Any
) -> None:
    slow_url, _ = await _url(server, client, make_agent)
    fast_url, _ = await _url(server, client, make_agent)
    gone_url, _ = await _url(server, client, make_agent)
    opened = await _sockets_on(client, "direct")
    raw, protocol = await _raw_client(slow_url)
    try:
        async with (
            connect(fast_url, compression=None, max_queue=None) as fast,  # reads all it can
            connect(gone_url, compression=None) as gone,
        ):
            await asyncio.sleep(0.3)
            assert await _sockets_on(client, "direct") - opened == 3
            marker, total, chunk = unique("slow"), 3000, 100
            for start in range(0, total, chunk):  # ~1,000 events/s: the fast socket keeps up
                # Each chunk committed, then published (a publish ahead of a later commit would
                # make the feed read the rest from the table at once).
                events = await _events(ctx, marker, chunk, pad=8000, first=start)
                await publish(ctx.redis, events)
                await asyncio.sleep(0.1)
                if start == 5 * chunk:
                    gone.transport.abort()  # vanishes without a close, mid-stream
            frames = await _frames(fast, marker, total, within=30)
            assert [f["data"]["n"] for f in frames] == list(range(total))
        # The slow socket's inbox overflowed while its transport was paused; once it reads, it
        # gets what was already written, in order, then 4408.
        received = await _read_until_closed(raw, protocol)
        assert received[-1].opcode is Opcode.CLOSE
        assert int.from_bytes(bytes(received[-1].data[:2]), "big") == CLOSE_TOO_SLOW
        texts = [json.loads(bytes(f.data)) for f in received if f.opcode is Opcode.TEXT]
        numbers = [t["data"]["n"] for t in texts if t["data"].get("marker") == marker]
        assert numbers == list(range(len(numbers))) and len(numbers) < total
    finally:
        raw.close()
