"""What a running process shares: settings, the database, Redis and the job queue.

Built once at start-up (web or worker) and handed around explicitly, so tests can build one too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from litestar.connection import ASGIConnection
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.core import secrets_box
from backend.core.redis import create_redis
from backend.db.engine import create_engine, create_session_factory


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    queue: ArqRedis
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        if not settings.redis_url:
            raise RuntimeError(
                "REDIS_URL is not set: start with `switchboard run` for an embedded one"
            )
        secrets_box.configure(settings)  # before any secret column is read or written
        engine = create_engine(settings.database_url)
        redis = create_redis(settings.redis_url)
        queue = ArqRedis(connection_pool=redis.connection_pool, default_queue_name=QUEUE_NAME)
        return cls(settings, engine, create_session_factory(engine), redis, queue)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    """The process's context, as app assembly put it on the application's state: every route and
    guard reaches settings, database and Redis through it (core, so no domain imports agents for it)."""
    context: AppContext = connection.app.state.context
    return context


QUEUE_NAME = "switchboard:queue"  # background work: bot steps, surveys, SLA, auto-assign
SEND_QUEUE = "switchboard:send"  # sends to customers, never behind background work
MEDIA_QUEUE = "switchboard:media"  # inbound file downloads: long jobs, kept apart (worker.main)


def arq_redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
