"""What else a Cloud API webhook carries: errors on a customer's message, `system` messages,
click-to-WhatsApp `referral`s, and the `pricing` of our messages on their statuses."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.channels.sandbox.webhooks import new_wamid, status_webhook
from backend.conversations.models import Message
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.whatsapp import CHANNEL, find_conversation, new_wa_id, post_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "fixtures" / "pywa"


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


def fixture(file: str, case: str, wa_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / file).read_text())[case]
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = CHANNEL
    for message in value.get("messages", []):
        message["from"], message["id"], message["timestamp"] = (
            wa_id,
            new_wamid(),
            str(int(time.time())),
        )
    for contact in value.get("contacts", []):
        contact["wa_id"] = wa_id
        contact.pop("user_id", None)
    return body


async def only_message(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = await find_conversation(client, headers, wa_id)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
    )
    [message] = response.json()["items"]
    return conversation, message


async def test_errors_on_an_inbound_message_are_kept_and_shown(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    assert (
        await post_webhook(client, fixture("message.json", "unsupported", wa_id))
    ).status_code == 200
    _, message = await only_message(client, lead_headers, wa_id)
    assert message["type"] == "unsupported" and message["error"]["code"] == 131051


async def test_a_referral_is_the_conversations_source(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    assert (
        await post_webhook(client, fixture("message.json", "referral", wa_id))
    ).status_code == 200
    conversation, message = await only_message(client, lead_headers, wa_id)
    assert conversation["source"] == "ad" and conversation["referral"]["source_id"] == "ADID"
    assert message["payload"]["referral"]["source_id"] == "ADID"


async def test_a_system_message_comes_from_system(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    assert (
        await post_webhook(client, fixture("system.json", "phone_number_change", wa_id))
    ).status_code == 200
    _, message = await only_message(client, lead_headers, wa_id)
    assert (message["sender"], message["type"]) == ("system", "system") and "changed" in message[
        "text"
    ]


async def test_pricing_on_statuses_is_stored_per_message(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    body = fixture("message.json", "text", wa_id)
    assert (await post_webhook(client, body)).status_code == 200
    conversation = await find_conversation(client, lead_headers, wa_id)
    wamid = new_wamid()
    async with ctx.sessions() as session:  # an outbound message as the worker leaves it: sent
        session.add(Message(conversation_id=conversation["id"], channel_id=conversation["channel_id"],
                            direction="outbound", sender="agent", text="hi", status="sent",
                            provider_message_id=wamid))  # fmt: skip
        await session.commit()
    delivered = status_webhook(CHANNEL, wamid, "delivered", wa_id)
    delivered["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] = {
        "billable": True, "pricing_model": "PMP", "category": "utility"}  # fmt: skip
    assert (await post_webhook(client, delivered)).status_code == 200
    async with ctx.sessions() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.provider_message_id) == wamid))
        ).scalar_one()
    assert (stored.status, stored.pricing_category, stored.pricing_model, stored.billable) == (
        "delivered", "utility", "PMP", True)  # fmt: skip
