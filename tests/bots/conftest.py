"""A channel of its own with the demo flow on its own teams, and an admin to manage it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.agents.services import get_or_create_team
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.bots import demo_flow, make_channel, unique_teams
from tests.support.servers import LiveWorker


@pytest.fixture
async def admin(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("admin", teams=[]))


@pytest.fixture
async def bot_channel(
    ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], worker: LiveWorker
) -> dict[str, Any]:
    teams = unique_teams()
    channel = await make_channel(ctx, teams["General"])
    async with ctx.sessions() as session:  # every team the flow names exists before it loads
        for name in teams.values():
            await get_or_create_team(session, name)
        await session.commit()
    response = await client.put(
        f"/api/v1/channels/{channel['id']}/bot", content=demo_flow(teams).encode(),
        headers=admin | {"Content-Type": "application/yaml"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return {**channel, "teams": teams, "admin": admin}
