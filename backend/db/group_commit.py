"""Group commit: concurrent writes of one process share one transaction and one commit.

Webhooks arrive concurrently, and each used to open its own write transaction. On SQLite the
transactions then queue inside the database's busy handler, which sleeps with growing back-offs
(1, 2, 5 … 100 ms) instead of handing the lock on, and on PostgreSQL every transaction pays for
its own commit and its own turn at the writers' lock. Here a request hands its write to the
process's `GroupCommit` and waits: whoever holds the writer's lock takes *every* write waiting at
that moment, runs each in a savepoint of one transaction, commits once, publishes the events,
and only then answers each waiting request — so "200 only after commit" holds for each of them.

One bad write never costs its neighbours: its savepoint is rolled back, its events are dropped
from the live publish, and only its caller gets the exception. When the commit itself fails
(storage down), every caller of that group gets the error, which the app turns into a 503 so
that Meta retries; nothing of theirs was stored.

There is no background task to start or stop: the first waiting request that gets the lock leads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.context import AppContext
from backend.realtime.events import commit_and_publish, drop_pending_since, pending_mark

T = TypeVar("T")
Write = Callable[[AsyncSession], Awaitable[T]]

_KEY = "group_commit"
# Enough to amortize a commit, few enough that one group's latency stays low.
MAX_GROUP = 64


@dataclass
class _Waiting(Generic[T]):
    write: Write[T]
    future: asyncio.Future[T] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    cancelled: bool = False  # its caller stopped waiting before any leader took it


class GroupCommit:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self._sessions = sessions
        self._redis = redis
        self._waiting: list[_Waiting[Any]] = []
        self._writer = asyncio.Lock()
        self.groups = 0  # commits made, for the benchmarks' account of how much was shared
        self.writes = 0

    async def run(self, write: Write[T]) -> T:
        """Runs `write(session)` in a shared transaction; returns once it is committed."""
        waiting: _Waiting[T] = _Waiting(write)
        self._waiting.append(waiting)
        try:
            while not waiting.future.done():
                async with self._writer:
                    if waiting.future.done():
                        break  # an earlier leader wrote it along with its own group
                    group = [w for w in self._waiting[:MAX_GROUP] if not w.cancelled]
                    del self._waiting[:MAX_GROUP]
                    await self._write(group)  # ours may be in a later group: the loop goes on
        except BaseException:
            waiting.cancelled = not waiting.future.done()
            if waiting.cancelled and waiting in self._waiting:
                self._waiting.remove(waiting)
            raise
        return waiting.future.result()

    async def _write(self, group: list[_Waiting[Any]]) -> None:
        done: list[tuple[_Waiting[Any], Any]] = []
        try:
            async with self._sessions() as session:
                for waiting in group:
                    mark = pending_mark(session)
                    try:
                        async with session.begin_nested():
                            value = await waiting.write(session)
                    except Exception as error:  # this write alone fails; its savepoint is gone
                        drop_pending_since(session, mark)
                        _settle(waiting, error=error)
                        continue
                    done.append((waiting, value))
                await commit_and_publish(session, self._redis)
        except Exception as error:  # the commit failed: none of the group was stored
            for waiting in group:
                _settle(waiting, error=error)
            return
        except BaseException:
            # The leader was cancelled (its client went away) mid-group: nothing was committed.
            # The others go back to the front of the line for the next leader.
            self._waiting[:0] = [w for w in group if not w.future.done() and not w.cancelled]
            raise
        self.groups += 1
        self.writes += len(group)
        for waiting, value in done:
            _settle(waiting, value=value)


def group_commit_of(context: AppContext) -> GroupCommit:
    """The process's one group committer (made on first use, kept in the context's extras)."""
    found = context.extras.get(_KEY)
    if not isinstance(found, GroupCommit):
        found = context.extras[_KEY] = GroupCommit(context.sessions, context.redis)
    return found


def _settle(waiting: _Waiting[Any], *, value: Any = None, error: Exception | None = None) -> None:
    if waiting.future.done():
        return
    if error is not None:
        waiting.future.set_exception(error)
    else:
        waiting.future.set_result(value)
