"""Retention: events older than EVENT_RETENTION_DAYS are pruned (never past a live reaction's
cursor), and a socket that asks to resume from before them is closed with 4409.

Its own database and Redis: pruning must not touch the log the other tests replay from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import update
from sqlmodel import col, select
from websockets.asyncio.client import connect

from backend.agents.services import create_agent
from backend.config import Settings
from backend.core.context import AppContext
from backend.core.embedded_redis import EmbeddedRedis
from backend.db.migrate import upgrade
from backend.db.types import utcnow
from backend.realtime.models import Event, EventCursor
from backend.realtime.retention import prune_once, pruned_through
from tests.conftest import PASSWORD, login
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer, start_server
from tests.support.whatsapp import customer_says, new_wa_id


@pytest.fixture
async def isolated(settings: Settings, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    redis.start()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'isolated.db'}"
    await asyncio.to_thread(upgrade, database_url)
    own = settings.model_copy(
        update={"database_url": database_url, "redis_url": redis.url, "var_dir": tmp_path}
    )
    server = await asyncio.to_thread(start_server, own)
    ctx = AppContext.build(server.settings)
    async with ctx.sessions() as session:
        agent = await create_agent(session, email="lead@example.test", password=PASSWORD,
                                   name="Lead", role="lead", teams=["General"])  # fmt: skip
        await session.commit()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
            headers = await login(http, {"email": agent.email, "password": PASSWORD})
            yield {"server": server, "ctx": ctx, "http": http, "headers": headers}
    finally:
        await ctx.close()
        await asyncio.to_thread(server.stop)
        redis.stop()


async def age(ctx: AppContext, through_seq: int, days: int) -> None:
    """Time passing, for the events up to `through_seq`: they were written `days` ago."""
    async with ctx.sessions() as session:
        await session.execute(
            update(Event)
            .where(col(Event.seq) <= through_seq)
            .values(at=utcnow() - timedelta(days=days))
        )
        await session.commit()


async def seqs(ctx: AppContext) -> list[int]:
    async with ctx.sessions() as session:
        return [int(s or 0) for s in (await session.execute(select(Event.seq))).scalars()]


async def test_old_events_are_pruned_and_resuming_before_them_is_refused_with_4409(
    isolated: dict[str, Any],
) -> None:
    ctx: AppContext = isolated["ctx"]
    http: httpx.AsyncClient = isolated["http"]
    for text in ("first", "second"):
        await customer_says(http, new_wa_id(), text)
    old = max(await seqs(ctx))
    await customer_says(http, new_wa_id(), "recent")
    await age(ctx, old, days=31)

    async with ctx.sessions() as session:
        # A reaction that has read only part of the old events holds pruning there...
        session.add(EventCursor(name="tests.slow_reaction", seq=old - 1))
        await session.commit()
        assert await prune_once(session, days=30) > 0
        assert await pruned_through(session) == old - 1
        # ...and once it has caught up, the rest of the expired events go; recent ones stay.
        await session.execute(
            update(EventCursor)
            .where(col(EventCursor.name) == "tests.slow_reaction")
            .values(seq=old)
        )
        await session.commit()
        await prune_once(session, days=30)
        assert await pruned_through(session) == old
    remaining = await seqs(ctx)
    assert remaining and min(remaining) > old

    server: LiveServer = isolated["server"]
    token = token_of(isolated["headers"])
    async with connect(ws_url(server, token, after=old - 1)) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
    # From the pruned point on, nothing is missing: the socket replays what is left.
    async with connect(ws_url(server, token, after=old)) as socket:
        frames = await frames_until(socket, lambda frame: frame["seq"] == max(remaining))
        assert [frame["seq"] for frame in frames] == sorted(remaining)
    events = await http.get("/api/v1/events", params={"after": 0}, headers=isolated["headers"])
    assert events.json()["pruned_through"] == old
