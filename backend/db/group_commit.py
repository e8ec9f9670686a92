"""Group commit: concurrent writes of one process share one transaction and one commit.

Webhooks arrive concurrently, and each used to open its own write transaction. On SQLite the
transactions then queue inside the database's busy handler, which sleeps with growing back-offs
(1, 2, 5 … 100 ms) instead of handing the lock on, and on PostgreSQL every transaction pays for
its own commit and its own turn at the events' lock. Here a request hands its write to the
process's `GroupCommit` and waits: whoever holds the writer's lock takes *every* write waiting at
that moment, runs each in a savepoint of one transaction, commits once, publishes the events,
and only then answers each waiting request — so "200 only after commit" holds for each of them.

One bad write never costs its neighbours: its savepoint is rolled back, its events are dropped
from the live publish, and only its caller gets the exception. When the commit itself fails
(storage down), every caller of that group gets the error, which the app turns into a 503 so
that Meta retries; nothing of theirs was stored.

Writes that can be done together do better still: `run_combined(combine, item)` hands the
leader an item, and it calls `combine(session, items)` once for every such item of its group (the
webhook route stores all its group's batches set-based this way). If that combined write fails,
each item is written alone in its own savepoint, so the one that failed still fails alone.

A deadlock (PostgreSQL aborts one of two transactions that lock rows in opposite orders), or a
race a write reports as `RetryableWrite`, makes the leader run its whole group once more in a new
transaction, before anyone is answered; only a second failure reaches the callers. A group of one
write needs no savepoint: if it fails, nothing else shares its transaction.

There is no background task to start or stop: the first waiting request that gets the lock leads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.context import AppContext
from backend.db import sqlite_inline
from backend.realtime.events import commit_and_publish

T = TypeVar("T")
Write = Callable[[AsyncSession], Awaitable[T]]
# Many callers' items in one write: the results come back one per item, in their order.
Combine = Callable[[AsyncSession, list[Any]], Awaitable[list[Any]]]

_KEY = "group_commit"
# Enough to amortize a commit, few enough that one group's latency stays low.
MAX_GROUP = 64


@dataclass
class _Waiting(Generic[T]):
    write: Write[T]
    combine: Combine | None = None  # with `item`: may be written together with its peers
    item: Any = None
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
        self.retries = 0  # groups run a second time after a deadlock or a lost race

    async def run(self, write: Write[T]) -> T:
        """Runs `write(session)` in a shared transaction; returns once it is committed."""
        return await self._wait(_Waiting(write))

    async def run_combined(self, combine: Combine, item: Any) -> Any:
        """Like `run`, but the leader writes this item with every other item of its group that
        has the same `combine`, in one call: `combine(session, items)` → one result per item."""

        async def alone(session: AsyncSession) -> Any:
            return (await combine(session, [item]))[0]

        return await self._wait(_Waiting(alone, combine, item))

    async def _wait(self, waiting: _Waiting[T]) -> T:
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
        try:
            try:
                done = await self._attempt(group, retry=True)
            except _Again:  # a deadlock or a race: the whole group once more, from the start
                self.retries += 1
                done = await self._attempt(group, retry=True)
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

    async def _attempt(
        self, group: list[_Waiting[Any]], *, retry: bool
    ) -> list[tuple[_Waiting[Any], Any]]:
        done: list[tuple[_Waiting[Any], Any]] = []
        # Short statements on a connection held alone: on SQLite, no thread hand-offs.
        with sqlite_inline.inline():
            async with self._sessions() as session:
                if len(group) == 1:  # nobody to protect: no savepoint (two statements fewer)
                    await _only(session, group[0], done, retry=retry)
                    if not done:
                        return done  # it failed, and nothing else is in this transaction
                else:
                    for part in _parts(group):
                        if len(part) > 1 and await _together(session, part, done):
                            continue
                        for waiting in part:
                            await _alone(session, waiting, done, retry=retry)
                await commit_and_publish(session, self._redis)
        return done


def _parts(group: list[_Waiting[Any]]) -> list[list[_Waiting[Any]]]:
    """The group in order, each combinable write gathered with its later peers."""
    parts: list[list[_Waiting[Any]]] = []
    by_combine: dict[int, list[_Waiting[Any]]] = {}
    for waiting in group:
        if waiting.combine is None:
            parts.append([waiting])
        elif id(waiting.combine) in by_combine:
            by_combine[id(waiting.combine)].append(waiting)
        else:
            parts.append(by_combine.setdefault(id(waiting.combine), [waiting]))
    return parts


async def _together(
    session: AsyncSession, part: list[_Waiting[Any]], done: list[tuple[_Waiting[Any], Any]]
) -> bool:
    """One combined write in one savepoint; False (nothing of it kept) when it fails."""
    combine = part[0].combine
    assert combine is not None
    try:  # a savepoint rolled back takes the events it recorded with it (`realtime.events`)
        async with session.begin_nested():
            values = await combine(session, [w.item for w in part])
    except Exception:
        return False
    done.extend(zip(part, values, strict=True))
    return True


async def _alone(
    session: AsyncSession,
    waiting: _Waiting[Any],
    done: list[tuple[_Waiting[Any], Any]],
    *,
    retry: bool,
) -> None:
    try:
        async with session.begin_nested():
            value = await waiting.write(session)
    except Exception as error:  # this write alone fails; its savepoint (and events) are gone
        if retry and transient(error):
            raise _Again from error
        _settle(waiting, error=error)
        return
    done.append((waiting, value))


async def _only(
    session: AsyncSession,
    waiting: _Waiting[Any],
    done: list[tuple[_Waiting[Any], Any]],
    *,
    retry: bool,
) -> None:
    """A group of one, in the transaction itself: when it fails, the session's rollback takes
    its rows and events with it."""
    try:
        value = await waiting.write(session)
    except Exception as error:
        if retry and transient(error):
            raise _Again from error
        _settle(waiting, error=error)
        return
    done.append((waiting, value))


class RetryableWrite(Exception):
    """Raised by a write that lost a race it can win by running again (e.g. another process
    inserted a row between its read and its insert): the group commit runs its group once more."""


class _Again(Exception):
    pass


# PostgreSQL's deadlock_detected and serialization_failure: the transaction that was chosen to
# fail is fine to run again, and then usually wins (the other one has committed meanwhile).
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def transient(error: BaseException) -> bool:
    """Whether running the same write again may well succeed."""
    if isinstance(error, RetryableWrite):
        return True
    if isinstance(error, DBAPIError):
        orig = error.orig
        code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
        return code in _TRANSIENT_SQLSTATES
    return False


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
