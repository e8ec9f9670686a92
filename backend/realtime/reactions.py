"""The event-log consumer: every committed event reaches every reaction, at least once.

Reactions (bot steps, SLA clocks, surveys, auto-assign, …) are not run by the process that commits
— a web process killed right after its commit, or Redis down at that moment, would lose them. The
worker reads the events table instead, from one stored cursor per reaction, hands each reaction
the events after its cursor in `seq` order, and advances the cursor only after the reaction
returned. A crash in between repeats events, never skips them, so reactions enqueue idempotent
jobs with deterministic ids.

One worker at a time consumes (a Redis lease); the others stand by. Each round is woken by the
live event on Redis Pub/Sub, so reactions start a few milliseconds after the commit, and a poll
every `idle_seconds` catches whatever the Pub/Sub missed. A reaction that fails (Redis down) keeps
its cursor and is retried with backoff, without holding the other reactions back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio.lock import Lock
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.context import AppContext
from backend.core.hooks import Hook, hook_name
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.realtime.events import EVENTS_CHANNEL
from backend.realtime.models import Event, EventCursor

log = get_logger(__name__)

LEADER_KEY = "switchboard:reactions:leader"
BASELINE = "*"  # the log position when cursors were introduced: new reactions start at the front


async def load_cursors(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """Each reaction's cursor; a reaction seen for the first time starts level with the furthest
    one (a new reaction does not replay history), or at the start of a fresh database's log."""
    rows = dict((await session.execute(select(EventCursor.name, EventCursor.seq))).tuples().all())
    missing = [name for name in names if name not in rows]
    if missing:
        start = max(rows.values(), default=0)
        for name in missing:
            session.add(EventCursor(name=name, seq=start))
            rows[name] = start
        await session.commit()
    return {name: rows[name] for name in names}


async def advance(session: AsyncSession, moved: dict[str, int]) -> None:
    """Forward only: a slower consumer that lost its lease can never move a cursor back."""
    now = utcnow()
    for name, seq in moved.items():
        await session.execute(
            update(EventCursor)
            .where(col(EventCursor.name) == name, col(EventCursor.seq) < seq)
            .values(seq=seq, updated_at=now)
        )
    await session.commit()


class ReactionConsumer:
    def __init__(
        self, app: AppContext, hooks: Sequence[Hook], *, batch: int = 500,
        idle_seconds: float = 1.0, lease_seconds: float = 15.0,
    ) -> None:  # fmt: skip
        self.app = app
        self.hooks = {hook_name(hook): hook for hook in hooks}
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._lease: Lock = app.redis.lock(LEADER_KEY, timeout=lease_seconds)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failures = 0

    async def step(self) -> int:
        """One round: the next batch of events to every reaction behind it; returns its size."""
        names = list(self.hooks)
        async with self.app.sessions() as session:
            cursors = await load_cursors(session, names)
            low = min(cursors.values(), default=0)
            events = list(
                (
                    await session.execute(
                        select(Event)
                        .where(col(Event.seq) > low)
                        .order_by(col(Event.seq))
                        .limit(self.batch)
                    )
                ).scalars()
            )
        if not events:
            return 0
        last = events[-1].seq or 0
        moved: dict[str, int] = {}
        failed = 0
        for name, hook in self.hooks.items():
            pending = [event for event in events if (event.seq or 0) > cursors[name]]
            if not pending:
                continue
            try:
                await hook(self.app.queue, pending)
            except Exception as error:
                failed += 1
                log.warning("reaction failed; will retry", reaction=name,
                            error=type(error).__name__, from_seq=pending[0].seq)  # fmt: skip
                continue
            moved[name] = last
        if moved:
            async with self.app.sessions() as session:
                await advance(session, moved)
        if failed:
            raise ReactionsBehind(failed)
        return len(events)

    async def lag(self) -> int:
        """How many events the slowest reaction has still to see (for /metrics and tests)."""
        async with self.app.sessions() as session:
            head = (await session.execute(select(func.max(Event.seq)))).scalar() or 0
            cursors = await load_cursors(session, list(self.hooks))
        return max(0, head - min(cursors.values(), default=head))

    async def _lead(self) -> bool:
        if await self._lease.owned():
            return bool(await self._lease.reacquire())
        return bool(await self._lease.acquire(blocking=False))

    async def _consume(self) -> None:
        while True:
            handled = 0
            self._wake.clear()  # an event committed during the round wakes the next one at once
            try:
                if await self._lead():
                    handled = await self.step()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._failures += 1
                if not isinstance(error, ReactionsBehind):
                    log.warning("event consumer round failed", error=type(error).__name__)
                await asyncio.sleep(min(30.0, 0.25 * 2 ** min(self._failures, 7)))
                continue
            if handled >= self.batch:
                continue  # more is waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)

    async def _listen(self) -> None:
        """Live events only wake the consumer; what it reads comes from the table."""
        while True:
            try:
                pubsub: Any = self.app.redis.pubsub()
                async with pubsub:
                    await pubsub.subscribe(EVENTS_CHANNEL)
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.debug("event consumer wake-up listener down", error=type(error).__name__)
                await asyncio.sleep(1.0)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._consume()), asyncio.create_task(self._listen())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            if await self._lease.owned():
                await self._lease.release()


class ReactionsBehind(Exception):
    """Some reactions failed this round; they keep their cursors and are retried."""
