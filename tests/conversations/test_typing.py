"""The typing indicator reaches a recording Graph API stand-in in Meta's wire format (a read
receipt for the customer's newest message with `typing_indicator: {"type": "text"}`), at most
once per 20 seconds, only for the holder, and never for a channel that has it switched off."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.agents.services import get_or_create_team
from backend.channels.models import Channel
from backend.channels.sandbox.webhooks import text_message_webhook
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.graph_standin import TOKEN, GraphStandin, start_graph_standin
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import find_conversation, new_wa_id, post_webhook


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphStandin]:
    standin = start_graph_standin()
    yield standin
    standin.stop()


async def _channel(ctx: AppContext, graph: GraphStandin) -> dict[str, Any]:
    async with ctx.sessions() as session:
        team = await get_or_create_team(session, "General")
        number = "1555" + str(random.randint(10**8, 10**9))
        channel = Channel(
            name=f"typing {number}", phone_number_id=number, access_token=TOKEN,
            app_secret="sandbox-secret", verify_token="sandbox-verify", api_base_url=graph.base_url,
            default_team_id=team.id,
        )  # fmt: skip
        session.add(channel)
        await session.commit()
        return {"id": channel.id, "phone_number_id": number}


async def test_typing_reaches_the_graph_api_at_most_every_20_seconds(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext, graph: GraphStandin,
    worker: LiveWorker,
) -> None:  # fmt: skip
    channel = await _channel(ctx, graph)
    holder = await login(client, await make_agent("agent"))
    colleague = await login(client, await make_agent("agent"))
    admin = await login(client, await make_agent("admin"))
    wa_id = new_wa_id()
    body = text_message_webhook(channel["phone_number_id"], wa_id, "Tara", "hello, anyone there?")
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert (await post_webhook(client, body)).status_code == 200
    conversation = await find_conversation(client, holder, wa_id)
    cid = conversation["id"]
    url = f"/api/v1/conversations/{cid}/typing"
    assert (await client.post(url, headers=holder)).status_code == 409  # not claimed yet
    assert (
        await client.post(f"/api/v1/conversations/{cid}/claim", headers=holder)
    ).status_code == 200
    assert (await client.post(url, headers=colleague)).status_code == 409

    first = await client.post(url, headers=holder)
    assert first.status_code == 200 and first.json() == {"sent": True}

    def typing_requests() -> list[dict[str, Any]]:
        return [m["body"] for m in graph.messages
                if m["phone_number_id"] == channel["phone_number_id"] and "typing_indicator" in m["body"]]  # fmt: skip

    async def arrived() -> list[dict[str, Any]]:
        return typing_requests()

    (received,) = await eventually(arrived, what="the typing indicator at the Graph API")
    assert received == {
        "messaging_product": "whatsapp", "status": "read", "message_id": wamid,
        "typing_indicator": {"type": "text"},
    }  # fmt: skip
    # Typing on: within 20 s nothing more is asked for.
    assert (await client.post(url, headers=holder)).json() == {"sent": False}
    # Switched off on the channel: nothing at all.
    off = await client.patch(
        f"/api/v1/channels/{channel['id']}", json={"typing_indicator": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["typing_indicator"] is False
    other = new_wa_id()
    second = text_message_webhook(channel["phone_number_id"], other, "Uma", "hi")
    assert (await post_webhook(client, second)).status_code == 200
    other_cid = (await find_conversation(client, holder, other))["id"]
    await client.post(f"/api/v1/conversations/{other_cid}/claim", headers=holder)
    assert (
        await client.post(f"/api/v1/conversations/{other_cid}/typing", headers=holder)
    ).json() == {"sent": False}
    # A reply written after all this reaches the stand-in; still one typing request in all.
    sent = await client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Yes! How can I help?"},
                             headers=holder | {"Idempotency-Key": f"typing-{cid}"})  # fmt: skip
    assert sent.status_code == 202, sent.text

    async def replied() -> bool:
        return any(
            m["body"].get("type") == "text" and m["body"].get("to") == wa_id for m in graph.messages
        )

    await eventually(replied, what="the reply at the Graph API")
    assert len(typing_requests()) == 1
