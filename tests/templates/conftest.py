"""A channel of its own per test (its own Business Account), over the Graph stand-in or the sandbox."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from backend.agents.services import get_or_create_team
from backend.channels.models import Channel
from backend.core.context import AppContext
from tests.support.graph_standin import TOKEN, GraphStandin, start_graph_standin

SANDBOX_TOKEN = "sandbox-token"


@pytest.fixture(scope="session")
def graph() -> Iterator[GraphStandin]:
    standin = start_graph_standin()
    yield standin
    standin.stop()


async def new_channel(
    ctx: AppContext, api_base_url: str | None, token: str = SANDBOX_TOKEN
) -> dict[str, Any]:
    async with ctx.sessions() as session:
        team = await get_or_create_team(session, "General")
        number = "1555" + str(random.randint(10**8, 10**9))
        channel = Channel(
            name=f"templates {number}", phone_number_id=number, access_token=token,
            app_secret="sandbox-secret", verify_token="sandbox-verify", api_base_url=api_base_url,
            default_team_id=team.id, business_account_id=f"waba-{number}",
        )  # fmt: skip
        session.add(channel)
        await session.commit()
        return {"id": channel.id, "phone_number_id": number, "waba_id": channel.business_account_id}


@pytest.fixture
async def standin_channel(ctx: AppContext, graph: GraphStandin) -> dict[str, Any]:
    graph.templates.clear()
    graph.requests.clear()
    return await new_channel(ctx, graph.base_url, TOKEN)


@pytest.fixture
async def sandbox_channel(ctx: AppContext) -> dict[str, Any]:
    return await new_channel(ctx, None)
