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


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            database_url,
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        database_url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs
    )
    _configure_postgres(engine)
    return engine


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


# One transaction-scoped advisory lock serializes PostgreSQL's writing transactions. Event numbers
# then commit in order (a client resuming from `seq` never misses a late commit), and since every
# writer takes it before its first row lock, no two writers can wait on each other's rows.
WRITERS_LOCK_KEY = 0x5B_0A_2D
_WRITERS_LOCK_SQL = f"SELECT pg_advisory_xact_lock({WRITERS_LOCK_KEY})"
_HOLDS = "switchboard.holds_writers_lock"


def _is_write(statement: str) -> bool:
    head = statement.lstrip()[:7].upper()
    return head.startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in statement.upper()


def _configure_postgres(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _take_writers_lock(
        connection: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if connection.info.get(_HOLDS) or not _is_write(statement):
            return
        connection.info[_HOLDS] = True
        cursor.execute(_WRITERS_LOCK_SQL)

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _released(connection: Any) -> None:
        connection.info.pop(_HOLDS, None)

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_HOLDS, None)


async def serialize_writes(session: AsyncSession) -> None:
    """Take the writers' lock now: for a transaction whose decisions rest on what it reads first."""
    if dialect_name(session) == "postgresql":
        await session.execute(text(_WRITERS_LOCK_SQL))
        (await session.connection()).info[_HOLDS] = True


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
