"""An isolated stack for tests that break things: its own Redis, database, app server and
agent, so that nothing else (the session's worker, its reconciler) can rescue or disturb what a
test kills. `stack` is a fixture: import it into the test module."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.agents.services import create_agent
from backend.config import Settings
from backend.conversations.models import Message
from backend.core.context import AppContext
from backend.core.embedded_redis import EmbeddedRedis
from backend.db.migrate import upgrade
from tests.conftest import PASSWORD, login
from tests.support.servers import (
    LiveServer,
    secrets_keys_of,
    start_server,
    web_process,
    worker_process,
)
from tests.support.whatsapp import find_conversation, new_wa_id


@dataclass
class Stack:
    redis: EmbeddedRedis
    server: LiveServer
    ctx: AppContext
    http: httpx.AsyncClient
    headers: dict[str, str]

    @property
    def settings(self) -> Settings:
        return self.server.settings

    def _env(self, **extra_env: str) -> dict[str, str]:
        s = self.settings
        return {**os.environ, "DATABASE_URL": s.database_url, "REDIS_URL": str(s.redis_url),
                "PUBLIC_BASE_URL": s.public_base_url, "SECRET_KEY": str(s.secret_key), "VAR_DIR": str(s.var_dir),
                "SEND_LEASE_SECONDS": str(s.send_lease_seconds), "LOG_LEVEL": "WARNING",
                "SEND_RECONCILE_GRACE_SECONDS": str(s.send_reconcile_grace_seconds),
                "SECRETS_KEYS": str(s.secrets_keys), **extra_env}  # fmt: skip

    def worker_process(self, **extra_env: str) -> subprocess.Popen[bytes]:
        return worker_process(self._env(**extra_env))

    def web_process(self, port: int, **extra_env: str) -> subprocess.Popen[bytes]:
        """A second `switchboard web` on the same database and Redis, as a real process to kill."""
        return web_process(self._env(**extra_env), port)

    async def conversation(self, capacity_for: int = 1) -> dict[str, Any]:
        wa_id = new_wa_id()
        sent = await self.http.post(
            "/sandbox/api/inbound", json={"from": wa_id, "name": "Kim", "text": "hello?"}
        )
        assert sent.status_code == 200 and sent.json()["webhook_status"] == 200
        conversation = await find_conversation(self.http, self.headers, wa_id)
        claimed = await self.http.post(
            f"/api/v1/conversations/{conversation['id']}/claim", headers=self.headers
        )
        assert claimed.status_code == 200, claimed.text
        return {"id": conversation["id"], "wa_id": wa_id}

    async def reply(self, conversation: dict[str, Any], text: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": text},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    async def received(self, wa_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await self.http.get("/sandbox/api/messages", params={"wa_id": wa_id})
        ).json()
        return items

    async def message(self, message_id: int) -> Message:
        async with self.ctx.sessions() as session:
            message = await session.get(Message, message_id)
            assert message is not None
            return message


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    redis.start()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'isolated.db'}"
    await asyncio.to_thread(upgrade, database_url)
    isolated = settings.model_copy(update={
        "database_url": database_url, "redis_url": redis.url, "var_dir": tmp_path,
        # This process's secrets box already holds the session's key (it encrypts): the worker
        # process must know it too.
        "secrets_keys": secrets_keys_of(settings),
        "send_lease_seconds": 1.5, "send_reconcile_grace_seconds": 1.0, "send_rate_per_second": 5,
    })  # fmt: skip
    server = await asyncio.to_thread(start_server, isolated)
    ctx = AppContext.build(server.settings)
    async with ctx.sessions() as session:
        agent = await create_agent(session, email="kim.agent@example.test", password=PASSWORD, name="Kim Agent",
                                   teams=["General"], capacity=20)  # fmt: skip
        await session.commit()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        headers = await login(http, {"email": agent.email, "password": PASSWORD})
        yield Stack(redis, server, ctx, http, headers)
    await ctx.close()
    await asyncio.to_thread(server.stop)
    redis.stop()
