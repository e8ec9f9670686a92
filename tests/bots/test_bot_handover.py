"""Once a person holds the chat the bot is silent; after resolution the bot greets again; STOP and
START change consent with a record of when and how."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.bots.test_bot_flows import customer, messages_of
from tests.conftest import login
from tests.support.bots import wait_for
from tests.support.whatsapp import find_conversation


async def test_the_bot_stays_silent_once_a_human_holds_the_chat_and_greets_again_after(
    client: httpx.AsyncClient, bot_channel: dict[str, Any], make_agent: Any
) -> None:
    agent = await make_agent("agent", teams=[bot_channel["teams"]["General"]])
    headers = await login(client, agent)
    ana = customer(client, bot_channel)
    await ana.says("Hi")
    await ana.wait_for_messages(2)
    await ana.says("agent")
    await ana.wait_for_messages(4)
    conversation = await find_conversation(client, headers, ana.wa_id)
    claimed = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=headers
    )
    assert claimed.status_code == 200
    for text in ("menu", "agent", "purple elephants", "Are you there?"):
        await ana.says(text)

    async def all_stored() -> bool:
        texts = [m["text"] for m in await messages_of(client, headers, conversation["id"])]
        return "Are you there?" in texts

    await wait_for(all_stored)
    await asyncio.sleep(1.0)  # the worker has had every chance to answer
    assert len(await ana.received()) == 4
    bot_after_claim = [
        m for m in await messages_of(client, headers, conversation["id"])
        if m["sender"] == "bot" and m["id"] > claimed.json()["last_message"]["id"]
    ]  # fmt: skip
    assert bot_after_claim == []

    reply = await client.post(f"/api/v1/conversations/{conversation['id']}/messages",
                              json={"text": "Hi Ana, Alex here."}, headers=headers)  # fmt: skip
    assert reply.status_code == 202
    await ana.wait_for_messages(5)
    resolved = await client.post(
        f"/api/v1/conversations/{conversation['id']}/resolve", headers=headers
    )
    assert resolved.status_code == 200
    await ana.says("One more thing")
    greeting, _topics = (await ana.wait_for_messages(7))[5:7]
    assert greeting["body"]["text"]["body"].startswith("Hi! I'm the Switchboard assistant")
    second = await find_conversation(client, headers, ana.wa_id)
    assert second["id"] != conversation["id"] and second["status"] == "bot"


async def test_stop_opts_out_and_start_opts_back_in_with_a_record(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    admin = bot_channel["admin"]
    ola = customer(client, bot_channel)
    await ola.says("Hi")
    await ola.wait_for_messages(2)
    await ola.says("STOP")
    stopped = (await ola.wait_for_messages(3))[2]
    assert stopped["body"]["text"]["body"].startswith("Done: you won't get messages from us")
    conversation = await find_conversation(client, admin, ola.wa_id)
    contact_id = conversation["contact"]["id"]
    consent = (await client.get(f"/api/v1/contacts/{contact_id}/consent", headers=admin)).json()
    assert consent["opted_out"] is True
    assert [(c["opted_out"], c["source"], c["detail"]) for c in consent["changes"]] == [
        (True, "keyword", "STOP")
    ]
    await ola.says("STOP")  # no change: nothing recorded, nothing said
    await ola.says("start")
    started = (await ola.wait_for_messages(4))[3]
    assert started["body"]["text"]["body"] == "Welcome back! You'll get our messages again."
    consent = (await client.get(f"/api/v1/contacts/{contact_id}/consent", headers=admin)).json()
    assert consent["opted_out"] is False
    assert [c["opted_out"] for c in consent["changes"]] == [True, False]
    assert all(c["at"] for c in consent["changes"])
    notes = [m["text"] for m in await messages_of(client, admin, conversation["id"])
             if m["sender"] == "system"]  # fmt: skip
    assert notes == ["Customer opted out of messages (sent “STOP”).",
                     "Customer opted back in to messages (sent “start”)."]  # fmt: skip
    assert len(await ola.received()) == 4
