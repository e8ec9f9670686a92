"""Shared fixtures: a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL), real Redis
(REDIS_URL, or an embedded one), the real app on a loopback port and a real worker."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis as SyncRedis
from sqlalchemy import text

from backend.agents.services import create_agent
from backend.config import Settings
from backend.core.context import AppContext
from backend.core.embedded_redis import EmbeddedRedis
from backend.db.engine import create_engine
from backend.db.migrate import upgrade
from tests.support.servers import LiveServer, LiveWorker, start_server, start_worker

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        SyncRedis.from_url(url).flushdb()
        yield url
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    yield embedded.start()
    embedded.stop()


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        asyncio.run(_reset_postgres(url))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'switchboard.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        database_url=database_url, redis_url=redis_url, environment="test",
        secret_key="test-secret-key-not-for-production", var_dir=tmp_path_factory.mktemp("var"),
        log_level="WARNING", send_rate_per_second=80, send_retry_base_seconds=0.05,
        send_retry_cap_seconds=0.5, sandbox_template_review_seconds=0.5,
        outgoing_webhooks_allow_private_networks=True, outgoing_webhook_retry_base_seconds=0.2,
        outgoing_webhook_retry_window_seconds=15,
        media_storage_url=f"file://{tmp_path_factory.mktemp('media')}",
        media_retry_base_seconds=0.05, media_retry_cap_seconds=0.3, media_download_max_attempts=3,
        media_download_timeout_seconds=8,
    )  # fmt: skip


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def app_settings(server: LiveServer) -> Settings:
    """The settings the live server runs with (its PUBLIC_BASE_URL points at itself)."""
    return server.settings


@pytest.fixture(scope="session")
def worker(server: LiveServer) -> Iterator[LiveWorker]:
    live = start_worker(server.settings)
    yield live
    live.stop()


@pytest.fixture(scope="session")
async def ctx(app_settings: Settings) -> AsyncIterator[AppContext]:
    context = AppContext.build(app_settings)
    yield context
    await context.close()


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        yield http


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_agent(ctx: AppContext) -> Any:
    async def make(
        role: str = "agent", teams: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        email = f"{unique(role)}@example.test"
        async with ctx.sessions() as session:
            agent = await create_agent(
                session, email=email, password=PASSWORD, name=extra.pop("name", f"{role} {email[:12]}"),
                role=role, teams=teams if teams is not None else ["General"], **extra,
            )  # fmt: skip
            await session.commit()
        return {"id": agent.id, "email": email, "password": PASSWORD, "name": agent.name}

    return make


async def login(client: httpx.AsyncClient, agent: dict[str, Any]) -> dict[str, str]:
    """Signs in and returns Bearer headers for the agent."""
    response = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def tmp_var(tmp_path: Path) -> Path:
    return tmp_path


# The isolated stack (its own Redis, database and server) for tests that kill things; imported
# last, since it uses the helpers above.
from tests.support.isolated import stack  # noqa: E402, F401
