"""The async engine and sessions.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign keys, and `BEGIN IMMEDIATE`
so that two writers queue on the lock instead of failing when a read transaction upgrades to a write.
Each process keeps one SQLite connection: its requests queue for it in Python (first come, first
served) instead of polling SQLite's busy handler, which sleeps up to 100 ms between tries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.db import sqlite_inline


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            database_url,
            connect_args={"timeout": 30, "async_creator_fn": sqlite_inline.connect},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        database_url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# A transaction-scoped advisory lock for the few transactions whose decisions rest on what they
# read first (a status and the send that records its wamid; a template sync; a send with an
# idempotency key): each takes it before that first read, so they run one at a time *among
# themselves*. Other writers never wait for it, and event numbers do not depend on it: they get
# their order from the events' own lock, held only for the append and the commit
# (`backend.realtime.events`).
WRITERS_LOCK_KEY = 0x5B_0A_2D
_WRITERS_LOCK_SQL = f"SELECT pg_advisory_xact_lock({WRITERS_LOCK_KEY})"


async def serialize_writes(session: AsyncSession) -> None:
    """Take the writers' lock now (held until commit): for a transaction whose decisions rest on
    what it reads first, against every other transaction that calls this. SQLite's single
    writer already serializes every writing transaction."""
    if dialect_name(session) == "postgresql":
        await session.execute(text(_WRITERS_LOCK_SQL))


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def insert_for(session: AsyncSession, model: Any) -> Any:
    """The dialect's own INSERT, which has `on_conflict_do_nothing` (insert-or-ignore)."""
    return (pg_insert if dialect_name(session) == "postgresql" else sqlite_insert)(model)


def dialect_name(session: AsyncSession) -> str:
    """'sqlite' or 'postgresql': the few places that differ (locks, upserts) ask this."""
    bind = session.bind
    assert bind is not None, "sessions are always bound to the engine"
    return bind.dialect.name
