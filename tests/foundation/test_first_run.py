"""A first run as a new operator does it: migrate, `switchboard create-agent` without `--team`,
start, and a customer's message reaches the agents.

The database is fresh (its own SQLite file, or its own PostgreSQL database beside
TEST_DATABASE_URL's), and so is Redis: nothing the session's other tests made may help.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from backend.agents.models import Agent
from backend.agents.services import team_names
from backend.channels.services import desk_warnings, ensure_default_channel
from backend.config import Settings
from backend.core.embedded_redis import EmbeddedRedis
from backend.db.engine import create_engine, create_session_factory
from tests.support.servers import start_server
from tests.support.waiting import eventually

PASSWORD = "first-run-password"


async def _postgres(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind the suite runs on."""
    shared = os.environ.get("TEST_DATABASE_URL")
    if not shared or not shared.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'first-run.db'}"
        return
    url = make_url(shared)
    name = f"{url.database}_first_run"
    admin = url.render_as_string(hide_password=False)
    asyncio.run(_postgres(admin, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_postgres(admin, f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_redis(tmp_path: Path) -> Iterator[str]:
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    yield redis.start()
    redis.stop()


def switchboard(env: dict[str, str], *args: str) -> str:
    """The console script as an operator runs it; its output, or the test fails with stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def operator_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "DATABASE_", "TEST_", "WHATSAPP_"))
    }  # fmt: skip
    env.update({"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var"), **extra})
    return env


async def agent_teams(database_url: str, email: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            agent = (
                await session.execute(select(Agent).where(col(Agent.email) == email))
            ).scalar_one()
            assert agent.id is not None
            return await team_names(session, agent.id)
    finally:
        await engine.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


async def test_agents_created_without_team_see_the_first_customer_message(
    fresh_database: str, fresh_redis: str, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    env = operator_env(fresh_database, tmp_path, WHATSAPP_DEFAULT_TEAM="Support")
    switchboard(env, "migrate")
    out = switchboard(env, "create-agent", "--email", "sam@example.test", "--password", PASSWORD,
                      "--name", "Sam", "--role", "agent")  # fmt: skip
    assert "team Support" in out
    switchboard(env, "create-agent", "--email", "lee@example.test", "--password", PASSWORD,
                "--name", "Lee", "--role", "lead")  # fmt: skip
    assert await agent_teams(fresh_database, "sam@example.test") == ["Support"]

    settings = Settings(
        database_url=fresh_database, redis_url=fresh_redis, environment="test",
        secret_key="first-run-secret-key-for-the-tests-here", var_dir=tmp_path / "var",
        log_level="WARNING", whatsapp_default_team="Support",
    )  # fmt: skip
    server = start_server(settings)
    try:
        base = server.base_url
        sent = await http.post(f"{base}/sandbox/api/inbound",
                               json={"from": "4915550001111", "name": "First Customer",
                                     "text": "hello, anyone there?"})  # fmt: skip
        assert sent.status_code == 200, sent.text
        for email in ("sam@example.test", "lee@example.test"):
            login = await http.post(f"{base}/api/v1/auth/login",
                                    json={"email": email, "password": PASSWORD})  # fmt: skip
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['token']}"}

            async def inbox(headers: dict[str, str] = headers) -> list[dict[str, object]]:
                response = await http.get(f"{base}/api/v1/conversations?status=queued",
                                          headers=headers)  # fmt: skip
                assert response.status_code == 200, response.text
                items: list[dict[str, object]] = response.json()["items"]
                return items

            items = await eventually(inbox, what=f"the customer's chat in {email}'s inbox")
            assert [item["team"] for item in items] == ["Support"]
            contact = items[0]["contact"]
            assert isinstance(contact, dict) and contact["name"] == "First Customer"
    finally:
        server.stop()


async def test_without_the_variable_agents_join_general_the_default_channels_team(
    fresh_database: str, tmp_path: Path
) -> None:
    env = operator_env(fresh_database, tmp_path)
    switchboard(env, "migrate")
    out = switchboard(env, "create-agent", "--email", "gail@example.test", "--password", PASSWORD,
                      "--name", "Gail")  # fmt: skip
    assert "team General" in out
    assert await agent_teams(fresh_database, "gail@example.test") == ["General"]
    explicit = switchboard(env, "create-agent", "--email", "tom@example.test", "--password",
                           PASSWORD, "--name", "Tom", "--team", "Billing")  # fmt: skip
    assert "team Billing" in explicit
    assert await agent_teams(fresh_database, "tom@example.test") == ["Billing"]


async def test_a_default_team_without_agents_is_warned_about(
    fresh_database: str, tmp_path: Path
) -> None:
    env = operator_env(fresh_database, tmp_path)
    switchboard(env, "migrate")
    settings = Settings(database_url=fresh_database, var_dir=tmp_path / "var",
                        whatsapp_default_team="Front desk")  # fmt: skip
    engine = create_engine(fresh_database)
    try:
        async with create_session_factory(engine)() as session:
            await ensure_default_channel(session, settings)
            await session.commit()
            warnings = await desk_warnings(session)
        assert len(warnings) == 1 and "Front desk has no active agent" in warnings[0]
        switchboard({**env, "WHATSAPP_DEFAULT_TEAM": "Front desk"}, "create-agent", "--email",
                    "fay@example.test", "--password", PASSWORD, "--name", "Fay")  # fmt: skip
        async with create_session_factory(engine)() as session:
            assert await desk_warnings(session) == []
    finally:
        await engine.dispose()
