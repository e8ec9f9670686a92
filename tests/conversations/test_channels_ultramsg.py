"""Channels added through the admin API; an Ultramsg number end to end against a stand-in of its API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import login, unique
from tests.support.servers import LiveWorker
from tests.support.ultramsg_standin import INSTANCE, TOKEN, UltramsgStandin, start_ultramsg_standin
from tests.support.whatsapp import find_conversation, new_wa_id


@pytest.fixture(scope="module")
def standin() -> Iterator[UltramsgStandin]:
    live = start_ultramsg_standin()
    yield live
    live.stop()


def ultramsg_event(event_type: str, top_id: str = "", **data: Any) -> dict[str, Any]:
    base = {"id": f"false_{data.get('from', '')}_{unique('m')}", "to": f"{INSTANCE}@c.us", "pushname": "Umut",
            "type": "chat", "body": "Merhaba", "fromMe": False, "time": int(time.time()), "ack": "",
            "media": "", "quotedMsg": {}}  # fmt: skip
    return {
        "event_type": event_type,
        "instanceId": INSTANCE,
        "id": top_id,
        "referenceId": "",
        "data": base | data,
    }


async def test_admins_add_channels_without_leaking_secrets(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    body = {"name": "Second number", "provider": "cloud_api", "phone_number_id": unique("pn"),
            "access_token": "EAAG-secret", "app_secret": "app-secret-2", "verify_token": "verify-2"}  # fmt: skip
    created = await client.post("/api/v1/channels", json=body, headers=admin)
    assert created.status_code == 201
    text = created.text
    assert "EAAG-secret" not in text and "app-secret-2" not in text
    assert created.json()["has_access_token"] and created.json()["webhook_url"].endswith(
        "/webhooks/whatsapp"
    )
    assert (await client.post("/api/v1/channels", json=body, headers=admin)).status_code == 409
    agent = await login(client, await make_agent("agent"))
    assert (
        await client.post(
            "/api/v1/channels", json=body | {"phone_number_id": unique()}, headers=agent
        )
    ).status_code == 403
    handshake = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-2", "hub.challenge": "42"},
    )
    assert handshake.text == "42"


async def test_ultramsg_inbound_reply_and_ack(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker, standin: UltramsgStandin
) -> None:
    admin = await login(client, await make_agent("admin"))
    listed = (await client.get("/api/v1/channels", headers=admin)).json()["items"]
    channel = next((c for c in listed if c["phone_number_id"] == INSTANCE), None)
    if channel is None:
        created = await client.post("/api/v1/channels", headers=admin, json={
            "name": "Ultramsg", "provider": "ultramsg", "phone_number_id": INSTANCE, "access_token": TOKEN,
            "api_base_url": standin.base_url, "default_team": "General"})  # fmt: skip
        assert created.status_code == 201, created.text
        channel = created.json()
    webhook = channel["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    wa_id = new_wa_id()
    inbound = ultramsg_event(
        "message_received", **{"from": f"{wa_id}@c.us", "body": "Merhaba, siparişim nerede?"}
    )
    wrong = await client.post(f"/webhooks/ultramsg/{channel['id']}?token=wrong", json=inbound)
    assert wrong.status_code == 401
    stored = await client.post(
        "/" + webhook,
        content=json.dumps(inbound).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert stored.status_code == 200 and stored.json()["messages"] == 1

    agent = await make_agent("agent")
    headers = await login(client, agent)
    conversation = await find_conversation(client, headers, wa_id)
    assert conversation["channel_id"] == channel["id"] and conversation["contact"]["name"] == "Umut"
    await client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=headers)
    reply = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"text": "Yarin kargoda."},
        headers=headers,
    )
    assert reply.status_code == 202

    deadline = time.monotonic() + 10
    while not any(r.get("to") == wa_id for r in standin.received):
        assert time.monotonic() < deadline, "Ultramsg never received the reply"
        await asyncio.sleep(0.05)
    sent = next(r for r in standin.received if r.get("to") == wa_id)
    assert sent["kind"] == "chat" and sent["body"] == "Yarin kargoda." and sent["token"] == TOKEN

    async def message() -> dict[str, Any]:
        items = (
            await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
            )
        ).json()["items"]
        return items[-1]

    while (await message())["status"] != "sent":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    provider_id = (await message())["provider_message_id"]
    ack = ultramsg_event(
        "message_ack",
        top_id=provider_id,
        **{"from": f"{INSTANCE}@c.us", "to": f"{wa_id}@c.us", "ack": "device", "fromMe": True},
    )
    assert (await client.post("/" + webhook, json=ack)).status_code == 200
    assert (await message())["status"] == "delivered"
