"""Fan-out once per process: events that reach Redis out of order are put back in order for every
socket, and numbers that never arrive live are read from the events table once for the whole
process (counted by `switchboard_live_gap_reads`), not once per socket."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from backend.core.context import AppContext
from backend.realtime.events import publish, record_event, take_pending
from backend.realtime.models import Event
from tests.conftest import login
from tests.realtime.test_websocket import token_of, ws_url
from tests.support.servers import LiveServer


async def _gap_reads(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    found = re.search(r"^switchboard_live_gap_reads_total ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, "the counter is exported"
    return float(found.group(1))


async def _recorded(ctx: AppContext, marker: str, count: int) -> list[Event]:
    """Events committed but not published (as when a publish is slow or lost)."""
    async with ctx.sessions() as session:
        for n in range(count):
            await record_event(session, "fanout.test", {"marker": marker, "n": n})
        await session.commit()
        return take_pending(session)


async def _markers(socket: ClientConnection, marker: str, count: int) -> list[int]:
    """The `n` of this marker's frames in the order they came, with their seqs in order too."""
    seen: list[tuple[int, int]] = []
    async with asyncio.timeout(5):
        while len(seen) < count:
            frame = json.loads(await socket.recv())
            if frame["type"] == "fanout.test" and frame["data"]["marker"] == marker:
                seen.append((frame["seq"], frame["data"]["n"]))
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    return [n for _, n in seen]


async def _sockets(server: LiveServer, client: httpx.AsyncClient, make_agent: Any) -> list[str]:
    return [ws_url(server, token_of(await login(client, await make_agent("agent"))))
            for _ in range(3)]  # fmt: skip


async def test_events_published_out_of_order_reach_every_socket_in_order(
    server: LiveServer, client: httpx.AsyncClient, ctx: AppContext, make_agent: Any
) -> None:
    urls = await _sockets(server, client, make_agent)
    async with connect(urls[0]) as a, connect(urls[1]) as b, connect(urls[2]) as c:
        await asyncio.sleep(0.3)  # the sockets have joined the feed
        events = await _recorded(ctx, "reordered", 3)
        await publish(ctx.redis, [events[2], events[0], events[1]])
        for socket in (a, b, c):
            assert await _markers(socket, "reordered", 3) == [0, 1, 2]


async def test_a_gap_is_read_from_the_table_once_for_all_sockets(
    server: LiveServer, client: httpx.AsyncClient, ctx: AppContext, make_agent: Any
) -> None:
    urls = await _sockets(server, client, make_agent)
    async with connect(urls[0]) as a, connect(urls[1]) as b, connect(urls[2]) as c:
        await asyncio.sleep(0.3)
        before = await _gap_reads(client)
        events = await _recorded(ctx, "gap", 3)
        await publish(ctx.redis, [events[2]])  # the first two never arrive live
        for socket in (a, b, c):
            assert await _markers(socket, "gap", 3) == [0, 1, 2]
        assert await _gap_reads(client) - before == 1, "one read for three sockets"
