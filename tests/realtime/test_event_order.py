"""Event numbers commit in order, and no transaction holds another's commit for its whole length.

Writers are real processes (`tests/support/event_writer.py`) writing through `record_event` and
`commit_and_publish`; readers are clients of `GET /api/v1/events?after=` that break off and resume
from random points they have seen, while the writes go on.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from asyncio.subprocess import PIPE
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from backend.config import Settings
from backend.db.engine import create_engine, create_session_factory
from backend.realtime.events import record_event
from backend.realtime.models import Event
from tests.conftest import login
from tests.support.event_writer import TYPE

WRITER = [sys.executable, "-m", "tests.support.event_writer"]


async def _events_after(settings: Settings, after: int) -> list[tuple[int, str, dict[str, Any]]]:
    """(seq, type, data) of every event after `after` that an admin sees, in order."""
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            query = select(Event).where(col(Event.seq) > after, col(Event.recipient_id).is_(None))
            rows = (await session.execute(query.order_by(col(Event.seq)))).scalars()
            return [(e.seq, e.type, e.data) for e in rows if e.seq is not None]
    finally:
        await engine.dispose()


async def _latest(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            latest = select(func.coalesce(func.max(col(Event.seq)), 0))
            return int((await session.execute(latest)).scalar_one() or 0)
    finally:
        await engine.dispose()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.getcwd()}


async def _read(
    client: httpx.AsyncClient, headers: dict[str, str], rng: random.Random, start: int,
    writers_done: asyncio.Event,
) -> list[tuple[int, list[int]]]:  # fmt: skip
    """Connections of one client: each resumes after a seq it has seen (often the last, sometimes
    an earlier one, as a reloaded tab with an old number) and reads a few pages."""
    connections: list[tuple[int, list[int]]] = []
    seen = [start]
    while True:
        finished = writers_done.is_set()
        after = seen[-1] if rng.random() < 0.6 else rng.choice(seen)
        got: list[int] = []
        cursor, page = after, [None]
        for _ in range(rng.randint(1, 8)):
            response = await client.get(
                "/api/v1/events",
                params={"after": cursor, "limit": rng.randint(1, 40)},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            page = response.json()["items"]
            if not page:
                break
            got.extend(item["seq"] for item in page)
            cursor = page[-1]["seq"]
            await asyncio.sleep(rng.random() * 0.01)
        connections.append((after, got))
        seen.extend(got)
        if finished and not page:
            return connections  # caught up after the last write
        await asyncio.sleep(rng.random() * 0.02)


@pytest.mark.parametrize("seed", [7, 1234])
async def test_readers_resuming_anywhere_see_every_committed_event_once_and_in_order(
    settings: Settings, client: httpx.AsyncClient, make_agent: Any, seed: int
) -> None:
    postgres = settings.database_url.startswith("postgresql")
    writers, transactions, readers = (4, 60, 3) if postgres else (3, 25, 2)
    run = uuid.uuid4().hex
    rng = random.Random(seed)
    headers = await login(client, await make_agent(role="admin"))
    start = await _latest(settings)
    assert settings.redis_url is not None
    redis_url = settings.redis_url
    processes = [
        await asyncio.create_subprocess_exec(
            *WRITER,
            "random",
            settings.database_url,
            redis_url,
            run,
            str(w),
            str(transactions),
            str(seed * 100 + w),
            stdout=PIPE,
            env=_env(),
        )
        for w in range(writers)
    ]
    writers_done = asyncio.Event()

    async def wait_for_writers() -> list[str]:
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)), timeout=300
        )
        writers_done.set()
        return [out.decode() for out, _ in outputs]

    reading = [
        asyncio.create_task(
            _read(client, headers, random.Random(rng.random()), start, writers_done)
        )
        for _ in range(readers)
    ]
    outputs = await wait_for_writers()
    connections_of = await asyncio.gather(*reading)
    assert all(process.returncode == 0 for process in processes)

    # What the writers say committed is exactly what the table holds of this run, in the order
    # each transaction recorded it; rolled-back transactions and savepoints left nothing.
    truth = await _events_after(settings, start)
    ours = {seq: data for seq, type_, data in truth if type_ == TYPE and data.get("run") == run}
    committed: dict[int, tuple[int, int]] = {}
    for w, out in enumerate(outputs):
        lines = out.splitlines()
        assert lines[-1] == "done"
        for line in lines[:-1]:
            row = json.loads(line)
            assert row["seqs"] == sorted(row["seqs"])
            committed |= {seq: (w, row["n"]) for seq in row["seqs"]}
    assert len(committed) >= writers * transactions // 2
    assert sorted(ours) == sorted(committed)
    assert all(
        (d["writer"], d["n"]) == committed[s] and "dropped" not in d for s, d in ours.items()
    )

    # Every connection saw each committed event after its starting point once, in order, up to
    # where it stopped: a number that committed late was never skipped.
    numbers = [seq for seq, _, _ in truth]
    assert max(committed) <= numbers[-1]
    for connections in connections_of:
        assert len(connections) > 3
        for after, got in connections:
            if got:
                assert got == [s for s in numbers if after < s <= got[-1]], (after, got)
        assert max(seq for _, got in connections for seq in got) == numbers[-1]


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="SQLite has one writer at a time: there a long transaction does hold the others",
)
async def test_a_long_transaction_does_not_hold_another_process_commit(settings: Settings) -> None:
    """A records an event and writes a row, then keeps working for 4 s; B, another process,
    records and commits meanwhile. B finishes at once and before A, and so numbers before A."""
    run = uuid.uuid4().hex
    assert settings.redis_url is not None
    args = [settings.database_url, settings.redis_url, run]
    slow = await asyncio.create_subprocess_exec(
        *WRITER, "hold", *args, "4", stdin=PIPE, stdout=PIPE, env=_env()
    )
    quick = await asyncio.create_subprocess_exec(
        *WRITER, "once", *args, stdin=PIPE, stdout=PIPE, env=_env()
    )
    assert slow.stdin and slow.stdout and quick.stdin and quick.stdout
    try:
        for process in (slow, quick):  # their imports take seconds on a busy machine
            assert await asyncio.wait_for(process.stdout.readline(), 120) == b"up\n"  # type: ignore[union-attr]
        slow.stdin.write(b"go\n")
        await slow.stdin.drain()
        assert await asyncio.wait_for(slow.stdout.readline(), 60) == b"holding\n"
        holding_since = time.time()
        quick.stdin.write(b"go\n")
        await quick.stdin.drain()
        quick_out, _ = await asyncio.wait_for(quick.communicate(), 60)
        slow_out, _ = await asyncio.wait_for(slow.communicate(), 60)
    finally:
        for process in (slow, quick):
            if process.returncode is None:
                process.kill()
    first, second = json.loads(slow_out), json.loads(quick_out)
    assert second["took"] < 2.0, second
    assert second["committed_at"] < first["committed_at"] - 1.0
    assert second["committed_at"] - holding_since < 3.0
    # Numbered at commit: the one that recorded first but committed last has the higher number.
    assert second["seq"] < first["seq"]


async def test_events_of_a_rolled_back_transaction_are_never_appended_later(
    settings: Settings,
) -> None:
    """The session goes on after a rollback: only the next transaction's own events commit,
    numbered in the order they were recorded."""
    run = uuid.uuid4().hex
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            lost = await record_event(session, TYPE, {"run": run, "name": "lost"})
            await session.rollback()
            kept = [await record_event(session, TYPE, {"run": run, "name": n}) for n in "abc"]
            await session.commit()
            assert lost.seq is None
            assert [e.seq for e in kept] == sorted(e.seq for e in kept if e.seq is not None)
    finally:
        await engine.dispose()
    stored = [data["name"] for _, type_, data in await _events_after(settings, 0)
              if type_ == TYPE and data.get("run") == run]  # fmt: skip
    assert stored == ["a", "b", "c"]
