"""Reactions come from the event log, so nothing between a commit and the reaction can lose them:
a web process SIGKILLed after its commits, or Redis down while a customer writes to a bot.

Each test has its own Redis, database, web process and worker, so that nothing else (the
session's worker) can rescue or disturb the conversation.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from backend.agents.services import get_or_create_team
from backend.bots.services import save_flow
from backend.channels.sandbox.webhooks import text_message_webhook
from backend.config import Settings
from backend.conversations.models import Contact, Conversation, Message
from backend.core.context import AppContext
from backend.core.embedded_redis import EmbeddedRedis, free_port
from backend.db.migrate import upgrade
from backend.realtime.models import EventCursor
from tests.support.bots import demo_flow, make_channel, unique_teams
from tests.support.servers import secrets_keys_of, web_process, worker_process
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id, post_webhook

GREETING = 2  # the demo flow answers a first message with a greeting and the topic list


@dataclass
class Isolated:
    redis: EmbeddedRedis
    settings: Settings
    ctx: AppContext
    port: int
    channel: dict[str, Any]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        s = self.settings
        return {**os.environ, "DATABASE_URL": s.database_url, "REDIS_URL": str(s.redis_url),
                "PUBLIC_BASE_URL": self.base_url, "SECRET_KEY": str(s.secret_key),
                "VAR_DIR": str(s.var_dir), "LOG_LEVEL": "WARNING",
                "SECRETS_KEYS": str(s.secrets_keys)}  # fmt: skip

    def web(self) -> subprocess.Popen[bytes]:
        return web_process(self._env(), self.port)

    def worker(self) -> subprocess.Popen[bytes]:
        return worker_process(self._env())

    def webhook(self, wa_id: str, text: str) -> dict[str, Any]:
        return text_message_webhook(self.channel["phone_number_id"], wa_id, "Kim", text)

    async def bot_messages(self, wa_id: str) -> int:
        """Bot answers written for the customer (sent or still queued)."""
        async with self.ctx.sessions() as session:
            count = await session.execute(
                select(func.count())
                .select_from(Message)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(col(Contact.wa_id) == wa_id, col(Message.sender) == "bot")
            )
            return int(count.scalar_one())

    async def stored_customers(self, wa_ids: list[str]) -> list[str]:
        async with self.ctx.sessions() as session:
            rows = await session.execute(
                select(col(Contact.wa_id))
                .join(Conversation, col(Conversation.contact_id) == col(Contact.id))
                .join(Message, col(Message.conversation_id) == col(Conversation.id))
                .where(col(Contact.wa_id).in_(wa_ids), col(Message.direction) == "inbound")
                .distinct()
            )
            return [str(wa_id) for wa_id in rows.scalars()]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
async def isolated(settings: Settings, tmp_path: Path) -> AsyncIterator[Isolated]:
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    redis.start()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'isolated.db'}"
    await asyncio.to_thread(upgrade, database_url)
    # The channel below is encrypted by this process, whose secrets box holds the session's key.
    keys = secrets_keys_of(settings)
    own = settings.model_copy(update={
        "database_url": database_url, "redis_url": redis.url, "var_dir": tmp_path, "secrets_keys": keys,
    })  # fmt: skip
    ctx = AppContext.build(own)
    teams = unique_teams()
    channel = await make_channel(ctx, teams["General"])
    async with ctx.sessions() as session:
        for name in teams.values():
            await get_or_create_team(session, name)
        await save_flow(session, channel["id"], demo_flow(teams))
        await session.commit()
    try:
        yield Isolated(redis, own, ctx, free_port(), channel)
    finally:
        await ctx.close()
        redis.stop()


@pytest.mark.timeout(480)  # three process starts, each slow on a busy machine
async def test_a_web_process_killed_after_its_commits_loses_no_reaction(
    isolated: Isolated,
) -> None:
    """No worker runs while customers write, and the web process is SIGKILLed with requests in
    flight: whatever it committed gets its bot answer once the worker comes, exactly once."""
    web = isolated.web()
    wa_ids = [new_wa_id() for _ in range(24)]
    answered: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=isolated.base_url, timeout=10) as http:

            async def write(wa_id: str) -> None:
                try:
                    response = await post_webhook(http, isolated.webhook(wa_id, "hello?"))
                except httpx.HTTPError:
                    return  # the kill cut this one off: Meta would retry it
                if response.status_code == 200:
                    answered.append(wa_id)

            async def some_answered() -> bool:
                return len(answered) >= 8

            writes = [asyncio.create_task(write(wa_id)) for wa_id in wa_ids]
            await eventually(some_answered, within=60)
            web.send_signal(signal.SIGKILL)  # no chance to run anything after these commits
            web.wait(10)
            await asyncio.gather(*writes)
    finally:
        web.kill()
    stored = await isolated.stored_customers(wa_ids)
    assert set(answered) <= set(stored) and len(stored) >= 8
    assert all([await isolated.bot_messages(wa_id) == 0 for wa_id in stored])

    web, worker = isolated.web(), isolated.worker()
    try:

        async def all_answered() -> bool:
            counts = [await isolated.bot_messages(wa_id) for wa_id in stored]
            return all(count >= GREETING for count in counts)

        await eventually(all_answered, within=120, what="every stored customer greeted")
        await asyncio.sleep(2)  # a duplicate reaction would show by now
        assert [await isolated.bot_messages(wa_id) for wa_id in stored] == [GREETING] * len(stored)
    finally:
        stop(worker)
        stop(web)


@pytest.mark.timeout(480)
async def test_redis_down_while_a_customer_writes_to_the_bot_delays_but_never_loses_the_answer(
    isolated: Isolated,
) -> None:
    web, worker = isolated.web(), isolated.worker()
    try:
        async with httpx.AsyncClient(base_url=isolated.base_url, timeout=10) as http:
            warm = new_wa_id()  # the worker is up and reacting before Redis goes
            assert (await post_webhook(http, isolated.webhook(warm, "hi"))).status_code == 200
            await eventually(lambda: _at_least(isolated, warm, GREETING), within=30)

            isolated.redis.stop()
            wa_id = new_wa_id()
            response = await post_webhook(http, isolated.webhook(wa_id, "is anyone there?"))
            assert response.status_code == 200, response.text  # stored: Redis is not storage
            await asyncio.sleep(1.5)
            assert await isolated.bot_messages(wa_id) == 0
            isolated.redis.start()
            started = time.monotonic()
            await eventually(lambda: _at_least(isolated, wa_id, GREETING), within=20)
            assert time.monotonic() - started < 15
            phone = await eventually(
                lambda: _sandbox_received(http, wa_id, GREETING), within=20, what="answer sent"
            )
            assert len(phone) == GREETING
    finally:
        stop(worker)
        stop(web)
    async with isolated.ctx.sessions() as session:
        cursors = (await session.execute(select(EventCursor))).scalars().all()
    assert {cursor.name for cursor in cursors} >= {
        "backend.bots.hooks.step_on_customer_message",
        "backend.conversations.hooks.drain_on_events",
    }


async def _at_least(isolated: Isolated, wa_id: str, count: int) -> bool:
    return await isolated.bot_messages(wa_id) >= count


async def _sandbox_received(
    http: httpx.AsyncClient, wa_id: str, count: int
) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = (
        await http.get("/sandbox/api/messages", params={"wa_id": wa_id})
    ).json()
    return items if len(items) >= count else None
