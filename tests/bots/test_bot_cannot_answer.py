"""A bot that cannot answer hands the chat to its team's queue with a note saying why.

Two ways it cannot: the customer's message arrived after the 24-hour window closed (Meta retries
webhooks for days; the window runs from the customer's own timestamp), or the bot's message
failed for good at WhatsApp. Before, the first failed the bot step over and over and the second
left the chat with the bot forever.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.bots.test_bot_flows import customer, messages_of
from tests.conftest import login
from tests.support.bots import wait_for
from tests.support.whatsapp import find_conversation


async def lead(
    client: httpx.AsyncClient, make_agent: Any, bot_channel: dict[str, Any]
) -> dict[str, str]:
    return await login(client, await make_agent("lead", teams=[bot_channel["teams"]["General"]]))


async def queued_with_note(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> dict[str, Any]:
    async def handed_off() -> dict[str, Any] | None:
        conversation = await find_conversation(client, headers, wa_id)
        if conversation["status"] != "queued":
            return None
        notes = [m for m in await messages_of(client, headers, conversation["id"])
                 if m["sender"] == "system" and m["payload"].get("note") == "handoff"]  # fmt: skip
        return {"conversation": conversation, "notes": notes} if notes else None

    found: dict[str, Any] = await wait_for(handed_off, 20, "queued with a handoff note")
    return found


async def test_a_late_message_to_a_bot_channel_is_queued_with_a_note(
    client: httpx.AsyncClient, bot_channel: dict[str, Any], make_agent: Any
) -> None:
    headers = await lead(client, make_agent, bot_channel)
    late = customer(client, bot_channel)
    written = int(time.time()) - 26 * 3600  # written 26 hours ago, delivered now
    response = await client.post("/sandbox/api/inbound", json={
        "from": late.wa_id, "name": "Lena Late", "text": "Is my parcel lost?",
        "phone_number_id": bot_channel["phone_number_id"], "timestamp": written,
    })  # fmt: skip
    assert response.status_code == 200 and response.json()["webhook_status"] == 200
    found = await queued_with_note(client, headers, late.wa_id)
    conversation, [note] = found["conversation"], found["notes"]
    assert conversation["team"] == bot_channel["teams"]["General"]
    assert "window is closed" in note["text"] and "arrived late" in note["text"]
    assert conversation["window_expires_at"] < conversation["created_at"]  # from her own timestamp
    await asyncio.sleep(1.0)
    assert await late.received() == []  # nothing was sent that could not be delivered
    stored = await messages_of(client, headers, conversation["id"])
    assert [m["text"] for m in stored if m["sender"] == "customer"] == ["Is my parcel lost?"]
    assert not [m for m in stored if m["sender"] == "bot"]


async def test_a_bot_message_that_fails_for_good_hands_the_chat_over(
    client: httpx.AsyncClient, bot_channel: dict[str, Any], make_agent: Any
) -> None:
    headers = await lead(client, make_agent, bot_channel)
    ana = customer(client, bot_channel)
    fault = await client.post(
        "/sandbox/api/faults", json={"code": 131026, "count": 1, "wa_id": ana.wa_id}
    )
    assert fault.status_code == 201
    await ana.says("Hi")
    found = await queued_with_note(client, headers, ana.wa_id)
    [note] = found["notes"]
    assert "could not be sent" in note["text"] and "131026" in note["text"]
    stored = await messages_of(client, headers, found["conversation"]["id"])
    assert next(m["status"] for m in stored if m["sender"] == "bot") == "failed"
