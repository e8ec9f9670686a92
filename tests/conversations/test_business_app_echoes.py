"""Coexistence: what the business types in the WhatsApp Business app arrives as
`smb_message_echoes` and is stored as an outbound `business_app` message; edits and revokes
change that message, keeping its history."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.channels.sandbox.webhooks import echo_webhook, new_wamid
from tests.conftest import login
from tests.support.whatsapp import (
    CHANNEL,
    customer_says,
    find_conversation,
    new_wa_id,
    post_webhook,
)


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


async def messages(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> list[dict[str, Any]]:
    conversation = await find_conversation(client, headers, wa_id)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_echo_is_a_business_app_message_in_the_customers_conversation(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Do you have it in blue?")
    before = await find_conversation(client, lead_headers, wa_id)
    response = await client.post(
        "/sandbox/api/inbound", json={"from": wa_id, "text": "Yes, in blue!", "echo": True}
    )
    assert response.status_code == 200 and response.json()["webhook_status"] == 200, response.text
    customer, echo = await messages(client, lead_headers, wa_id)
    assert (customer["sender"], echo["sender"]) == ("customer", "business_app")
    assert (echo["direction"], echo["status"], echo["text"]) == (
        "outbound",
        "sent",
        "Yes, in blue!",
    )
    assert echo["provider_message_id"] == response.json()["message_id"]
    after = await find_conversation(client, lead_headers, wa_id)
    assert after["id"] == before["id"] and after["first_response_at"] is not None
    assert after["window_expires_at"] == before["window_expires_at"]  # an echo opens no window


async def test_edit_and_revoke_change_the_echoed_message_once(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id, original = new_wa_id(), new_wamid()
    await customer_says(client, wa_id, "When do you open?")
    sent = echo_webhook(CHANNEL, wa_id, "text", {"body": "We open at 9"}, wamid=original)
    assert (await post_webhook(client, sent)).status_code == 200
    edit = echo_webhook(CHANNEL, wa_id, "edit", {"original_message_id": original,
                        "message": {"type": "text", "text": {"body": "We open at 10"}}})  # fmt: skip
    for _ in range(2):  # Meta's retry of the same edit changes nothing twice
        assert (await post_webhook(client, edit)).status_code == 200
    [_, echoed] = await messages(client, lead_headers, wa_id)
    assert echoed["text"] == "We open at 10"
    assert [e["text"] for e in echoed["payload"]["edits"]] == ["We open at 9"]
    revoke = echo_webhook(CHANNEL, wa_id, "revoke", {"original_message_id": original})
    assert (await post_webhook(client, revoke)).status_code == 200
    [_, revoked] = await messages(client, lead_headers, wa_id)
    assert revoked["payload"]["deleted"]["text"] == "We open at 10"
    assert [e["text"] for e in revoked["payload"]["edits"]] == ["We open at 9"]


async def test_an_echo_to_a_new_customer_opens_their_conversation(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    body = echo_webhook(CHANNEL, "+" + wa_id, "text", {"body": "Your table is ready"})
    assert (await post_webhook(client, body)).status_code == 200
    [echo] = await messages(client, lead_headers, wa_id)
    assert (echo["sender"], echo["text"]) == ("business_app", "Your table is ready")
