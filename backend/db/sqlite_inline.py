"""SQLite calls made inside `inline()` run on the event loop itself, not on aiosqlite's thread.

aiosqlite runs every call on a thread of its own: each statement is four or five calls (cursor,
execute, fetch, close), and each call is a queue put, a thread wake-up and a `call_soon_threadsafe`
back, whose continuation then waits behind every other ready callback of a busy loop. A commit
group's write is a dozen short set-based statements on the one connection a process keeps for
SQLite (`backend.db.engine`), held by the writer alone for the whole transaction; profiled under
webhook load, that write spent most of its time in those hand-offs, not in SQLite. Inside
`inline()` the same calls run directly, in order, on the loop's thread (the connection is made with
`check_same_thread=False` for this). Everything else — reads, a search over the whole history —
still goes through the thread, so a long query never blocks the loop.

Safe because the connection is never used by two callers at once: the pool hands it to one session
at a time, and every call of that session is awaited before the next is made, so nothing queued on
the thread can be overtaken by an inline call. PostgreSQL (asyncpg) is asynchronous already; there
the flag changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite

_INLINE: ContextVar[bool] = ContextVar("switchboard_sqlite_inline", default=False)


@contextmanager
def inline() -> Iterator[None]:
    """SQLite calls this task makes meanwhile run on the loop (see the module's docstring)."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, which runs a call inline when `inline()` is in effect."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _INLINE.get() and self._running and self._connection is not None:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """SQLAlchemy's `async_creator_fn` for the aiosqlite dialect: `aiosqlite.connect`, inline-able."""
    kwargs["check_same_thread"] = False  # inline calls come from the loop's thread

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    connection = InlineConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
