"""The async engine and sessions.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign keys, and `BEGIN IMMEDIATE`
so that two writers queue on the lock instead of failing when a read transaction upgrades to a write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
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
            database_url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8, **kwargs
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


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that rolls back on error; the caller commits."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def dialect_name(session: AsyncSession) -> str:
    """'sqlite' or 'postgresql': the few places that differ (locks, upserts) ask this."""
    bind = session.bind
    assert bind is not None, "sessions are always bound to the engine"
    return bind.dialect.name
