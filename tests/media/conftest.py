"""A Cloud API channel whose Graph API is the recording stand-in, and helpers to send it files."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from backend.agents.services import get_or_create_team
from backend.channels.models import Channel
from backend.core.context import AppContext
from tests.support.graph_media_standin import TOKEN, GraphMediaStandin, start_graph_media_standin
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id, post_webhook

PHONE_NUMBER_ID = "1122334455667"  # the pywa fixtures' number
APP_SECRET = "standin-app-secret"
FIXTURES = Path(__file__).parents[1] / "channels" / "fixtures" / "pywa" / "message.json"


@pytest.fixture(scope="session")
def graph() -> Iterator[GraphMediaStandin]:
    standin = start_graph_media_standin()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
async def standin_channel(ctx: AppContext, graph: GraphMediaStandin) -> AsyncIterator[Channel]:
    async with ctx.sessions() as session:
        channel = (
            await session.execute(select(Channel).where(Channel.phone_number_id == PHONE_NUMBER_ID))
        ).scalar_one_or_none()
        if channel is None:
            team = await get_or_create_team(session, "General")
            channel = Channel(
                name="Graph stand-in", phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN,
                app_secret=APP_SECRET, verify_token="standin-verify", api_base_url=graph.base_url,
                default_team_id=team.id,
            )  # fmt: skip
            session.add(channel)
        channel.api_base_url = graph.base_url
        await session.commit()
        await session.refresh(channel)
    yield channel


def fixture_body(case: str, wa_id: str, media_id: str) -> dict[str, Any]:
    """A real webhook body from pywa's fixtures, made unique (sender, wamid, media id)."""
    body: dict[str, Any] = copy.deepcopy(json.loads(FIXTURES.read_text())[case])
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    message = value["messages"][0]
    message["from"] = wa_id
    message["id"] = f"wamid.{secrets.token_hex(12)}"
    message[message["type"]]["id"] = media_id
    return body


async def customer_sends(
    client: httpx.AsyncClient, headers: dict[str, str], case: str, media_id: str
) -> dict[str, Any]:
    """Posts the fixture as a signed webhook; returns the stored message as the API shows it."""
    wa_id = new_wa_id()
    body = fixture_body(case, wa_id, media_id)
    response = await post_webhook(client, body, APP_SECRET)
    assert response.status_code == 200, response.text
    wamid: str = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    return await message_by_wamid(client, headers, wa_id, wamid)


async def message_by_wamid(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str, wamid: str
) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        listed = await client.get("/api/v1/conversations", params={"q": wa_id}, headers=headers)
        for conversation in listed.json()["items"]:
            messages = await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
            )
            for message in messages.json()["items"]:
                if message["provider_message_id"] == wamid:
                    return dict(message)
        return None

    found: dict[str, Any] = await eventually(find, what=f"message {wamid}")
    return found


async def media_state(
    client: httpx.AsyncClient, headers: dict[str, str], message: dict[str, Any], *states: str
) -> dict[str, Any]:
    """The message once its media reaches one of `states`."""

    async def probe() -> dict[str, Any] | None:
        response = await client.get(
            f"/api/v1/conversations/{message['conversation_id']}/messages", headers=headers
        )
        for item in response.json()["items"]:
            if item["id"] == message["id"] and item["media"] and item["media"]["state"] in states:
                return dict(item)
        return None

    found: dict[str, Any] = await eventually(probe, within=30, what=f"media {states}")
    return found


def new_media_id() -> str:
    return str(secrets.randbelow(10**15) + 10**15)
