"""A process that writes events through the real path (`record_event`, then `commit_and_publish`
on the app's session factory), for the tests of event numbering across processes.

`python -m tests.support.event_writer random URL REDIS_URL RUN WRITER TRANSACTIONS SEED`
writes TRANSACTIONS transactions of one to four events each, recorded with pauses in between
(so they commit late), some with a savepoint rolled back inside and some rolled back whole; it
prints one JSON line per transaction that committed (`{"n", "seqs"}`) and `done`.

`python -m tests.support.event_writer hold URL REDIS_URL RUN SECONDS` prints `up` once
imported, waits for a line on stdin, records an event, also writes a row, prints `holding` and
keeps its transaction open SECONDS before committing; `python -m ... once URL REDIS_URL RUN`
waits for its line, records one event and commits. Both then print
`{"seq", "committed_at", "took"}` (wall clock, seconds).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.db.engine import create_engine, create_session_factory
from backend.realtime.events import commit_and_publish, record_event
from backend.realtime.models import EventCursor

TYPE = "test.order"


class _Rollback(Exception):
    pass


async def _random(url: str, redis_url: str, run: str, writer: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    redis = Redis.from_url(redis_url)
    try:
        for n in range(count):
            await asyncio.sleep(rng.random() * 0.005)
            recorded = []
            try:
                async with sessions() as session:
                    for i in range(rng.randint(1, 4)):
                        data = {"run": run, "writer": writer, "n": n, "i": i}
                        recorded.append(await record_event(session, TYPE, data))
                        if rng.random() < 0.15:
                            await _rolled_back_savepoint(session, run, writer, n)
                        await asyncio.sleep(rng.random() * 0.02)  # still working: commits late
                    if rng.random() < 0.1:
                        raise _Rollback
                    await commit_and_publish(session, redis)
            except _Rollback:
                continue
            print(json.dumps({"n": n, "seqs": [event.seq for event in recorded]}), flush=True)
    finally:
        await redis.aclose()
        await engine.dispose()
    print("done", flush=True)


async def _rolled_back_savepoint(session: AsyncSession, run: str, writer: int, n: int) -> None:
    try:
        async with session.begin_nested():
            data = {"run": run, "writer": writer, "n": n, "dropped": True}
            await record_event(session, TYPE, data)
            raise _Rollback
    except _Rollback:
        pass


async def _scripted(url: str, redis_url: str, run: str, hold: float | None) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    redis = Redis.from_url(redis_url)
    print("up", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    started = time.time()
    try:
        async with sessions() as session:
            event = await record_event(session, TYPE, {"run": run, "hold": hold})
            if hold is not None:
                # A real write, as any transaction does before it records or after: it takes no
                # lock that another process's commit waits for.
                session.add(EventCursor(name=f"test:{run}", seq=0))
                await session.flush()
                print("holding", flush=True)
                await asyncio.sleep(hold)
                await session.execute(
                    delete(EventCursor).where(col(EventCursor.name) == f"test:{run}")
                )
            await commit_and_publish(session, redis)
        done = time.time()
    finally:
        await redis.aclose()
        await engine.dispose()
    print(json.dumps({"seq": event.seq, "committed_at": done, "took": done - started}), flush=True)


def main(argv: list[str]) -> None:
    mode, url, redis_url, run, *rest = argv
    if mode == "random":
        writer, count, seed = (int(value) for value in rest)
        asyncio.run(_random(url, redis_url, run, writer, count, seed))
    elif mode == "hold":
        asyncio.run(_scripted(url, redis_url, run, float(rest[0])))
    else:
        asyncio.run(_scripted(url, redis_url, run, None))


if __name__ == "__main__":
    main(sys.argv[1:])
