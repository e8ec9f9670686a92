"""Group commit: concurrent writes share one transaction; one that fails costs nobody else."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.context import AppContext
from backend.db.group_commit import GroupCommit
from backend.realtime.events import record_event
from backend.realtime.models import Event


async def stored(ctx: AppContext, tag: str) -> list[str]:
    async with ctx.sessions() as session:
        rows = (
            await session.execute(select(Event).where(col(Event.type) == "test.group"))
        ).scalars()
        return sorted(e.data["name"] for e in rows if e.data.get("tag") == tag)


async def test_concurrent_writes_share_commits_and_a_failing_one_fails_alone(
    ctx: AppContext,
) -> None:
    writer = GroupCommit(ctx.sessions, ctx.redis)
    tag = uuid.uuid4().hex
    started = asyncio.Event()

    def write(name: str, fail: bool = False):  # type: ignore[no-untyped-def]
        async def run(session: AsyncSession) -> str:
            await record_event(session, "test.group", {"tag": tag, "name": name})
            if name == "first":
                started.set()
                await asyncio.sleep(0.2)  # the others queue up behind this one meanwhile
            if fail:
                raise ValueError(f"{name} is invalid")
            return name

        return run

    first = asyncio.create_task(writer.run(write("first")))
    await started.wait()
    names = [f"w{i}" for i in range(10)]
    results = await asyncio.gather(
        *(writer.run(write(n, fail=n == "w4")) for n in names), return_exceptions=True
    )
    assert await first == "first"
    failed = [r for r in results if isinstance(r, Exception)]
    assert [str(e) for e in failed] == ["w4 is invalid"]
    assert [r for r in results if not isinstance(r, Exception)] == [n for n in names if n != "w4"]
    assert await stored(ctx, tag) == sorted(["first", *[n for n in names if n != "w4"]])
    # The ten that queued behind the first went in together: two commits in all, not eleven.
    assert (writer.groups, writer.writes) == (2, 11)


async def test_a_failed_commit_fails_every_write_of_its_group(ctx: AppContext) -> None:
    writer = GroupCommit(ctx.sessions, ctx.redis)
    tag = uuid.uuid4().hex

    async def conflicting(session: AsyncSession) -> None:
        # Two rows with one primary key: the flush at commit fails for the whole transaction.
        await record_event(session, "test.group", {"tag": tag, "name": "a"})
        seq = 2_000_000_000 - secrets.randbelow(10**6)
        session.add(Event(seq=seq, type="test.group", data={"tag": tag, "name": "one"}))
        session.add(Event(seq=seq, type="test.group", data={"tag": tag, "name": "two"}))

    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        await writer.run(conflicting)
    assert await stored(ctx, tag) == []


async def test_combined_writes_go_together_and_a_failing_item_fails_alone(
    ctx: AppContext,
) -> None:
    """`run_combined`: the leader writes its group's items in one call; when that call fails,
    each item is written alone, so only the bad one fails and the rest are stored."""
    writer = GroupCommit(ctx.sessions, ctx.redis)
    tag = uuid.uuid4().hex
    calls: list[list[str]] = []
    started = asyncio.Event()

    async def hold(session: AsyncSession) -> str:
        started.set()
        await asyncio.sleep(0.2)  # the combined writes queue up behind this one
        return "held"

    async def combine(session: AsyncSession, items: list[str]) -> list[str]:
        calls.append(list(items))
        for name in items:
            await record_event(session, "test.group", {"tag": tag, "name": name})
            if name.startswith("bad"):
                raise ValueError(f"{name} is invalid")
        return [name.upper() for name in items]

    first = asyncio.create_task(writer.run(hold))
    await started.wait()
    good = [f"c{i}" for i in range(6)]
    results = await asyncio.gather(
        *(writer.run_combined(combine, n) for n in good), return_exceptions=True
    )
    assert await first == "held"
    assert results == [n.upper() for n in good]
    assert calls == [good]  # one call for the six, in their order
    assert await stored(ctx, tag) == sorted(good)

    calls.clear()
    tag = uuid.uuid4().hex
    started.clear()
    first = asyncio.create_task(writer.run(hold))
    await started.wait()
    names = ["d0", "d1", "bad2", "d3"]
    results = await asyncio.gather(
        *(writer.run_combined(combine, n) for n in names), return_exceptions=True
    )
    await first
    assert [str(r) if isinstance(r, Exception) else r for r in results] == [
        "D0", "D1", "bad2 is invalid", "D3",
    ]  # fmt: skip
    assert calls == [names, ["d0"], ["d1"], ["bad2"], ["d3"]]  # together, then each alone
    assert await stored(ctx, tag) == ["d0", "d1", "d3"]  # nothing of the failed combined call


async def test_on_sqlite_the_writer_runs_its_statements_on_the_loop_and_others_on_the_thread(
    ctx: AppContext,
) -> None:
    """The group's short statements skip aiosqlite's thread hand-offs (`db.sqlite_inline`); a
    read outside the writer still goes to the thread, so a long one never blocks the loop."""
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("inline calls are SQLite's; asyncpg is asynchronous already")
    import threading

    from sqlalchemy import text

    threads: dict[str, set[int]] = {}

    def traced(statement: str) -> None:  # called by SQLite, on the thread that runs it
        threads.setdefault(statement.split()[0].upper(), set()).add(threading.get_ident())

    async with ctx.sessions() as session:  # the process's one SQLite connection
        raw = await (await session.connection()).get_raw_connection()
        sqlite = raw.driver_connection._conn  # type: ignore[union-attr]
    writer = GroupCommit(ctx.sessions, ctx.redis)
    tag = uuid.uuid4().hex

    async def write(session: AsyncSession) -> None:
        await record_event(session, "test.group", {"tag": tag, "name": "inline"})

    sqlite.set_trace_callback(traced)
    try:
        await writer.run(write)
        async with ctx.sessions() as session:
            await session.execute(text("SELECT 1"))
    finally:
        sqlite.set_trace_callback(None)
    loop_thread = threading.get_ident()
    assert threads["INSERT"] == {loop_thread}
    assert threads["SELECT"] and loop_thread not in threads["SELECT"]
    assert await stored(ctx, tag) == ["inline"]


async def test_a_lone_write_that_fails_leaves_nothing_and_the_next_one_goes(
    ctx: AppContext,
) -> None:
    """A group of one runs without a savepoint: its failure must still take its rows along."""
    writer = GroupCommit(ctx.sessions, ctx.redis)
    tag = uuid.uuid4().hex

    async def failing(session: AsyncSession) -> None:
        await record_event(session, "test.group", {"tag": tag, "name": "failed"})
        raise ValueError("refused")

    async def fine(session: AsyncSession) -> str:
        await record_event(session, "test.group", {"tag": tag, "name": "fine"})
        return "ok"

    with pytest.raises(ValueError, match="refused"):
        await writer.run(failing)
    assert await writer.run(fine) == "ok"
    assert await stored(ctx, tag) == ["fine"]


async def test_a_deadlocked_group_runs_again_and_its_callers_never_see_it(ctx: AppContext) -> None:
    """Two transactions lock two rows in opposite orders; PostgreSQL aborts the one whose
    deadlock check fires first (the group's, set to 100 ms). Its group runs again and wins."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no deadlocks")
    from sqlalchemy import text

    a, b = (secrets.randbelow(2**31) for _ in range(2))
    async with ctx.sessions() as session:
        await session.execute(
            text("CREATE TABLE IF NOT EXISTS gc_probe (id int PRIMARY KEY, v int)")
        )
        await session.execute(
            text("INSERT INTO gc_probe VALUES (:a, 0), (:b, 0)"), {"a": a, "b": b}
        )
        await session.commit()
    writer = GroupCommit(ctx.sessions, ctx.redis)
    holds_a, holds_b = asyncio.Event(), asyncio.Event()
    attempts = 0

    async def write(session: AsyncSession) -> str:
        nonlocal attempts
        attempts += 1
        await session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
        await session.execute(text("UPDATE gc_probe SET v = v + 1 WHERE id = :a"), {"a": a})
        if attempts == 1:
            holds_a.set()
            await holds_b.wait()
        await session.execute(text("UPDATE gc_probe SET v = v + 10 WHERE id = :b"), {"b": b})
        return "written"

    async def other() -> None:
        async with ctx.sessions() as session:
            await session.execute(text("UPDATE gc_probe SET v = v + 100 WHERE id = :b"), {"b": b})
            await holds_a.wait()
            holds_b.set()
            await asyncio.sleep(0.03)  # the group waits for b first, so its check fires first
            await session.execute(text("UPDATE gc_probe SET v = v + 1000 WHERE id = :a"), {"a": a})
            await session.commit()

    result, _ = await asyncio.wait_for(asyncio.gather(writer.run(write), other()), 20)
    assert result == "written" and attempts == 2 and writer.retries == 1
    async with ctx.sessions() as session:
        rows = dict((await session.execute(
            text("SELECT id, v FROM gc_probe WHERE id IN (:a, :b)"), {"a": a, "b": b}
        )).all())  # fmt: skip
    assert rows == {a: 1001, b: 110}, "both committed once each"
