"""The agent who claims a chat after the bot sees the whole bot exchange and the handoff note: the
topic, the order number and what the customer said, so the agent never asks again."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import expect

from backend.agents.services import get_or_create_team
from backend.core.context import AppContext
from tests.browser.conftest import NewPage
from tests.browser.helpers import conversation_item, conversation_pane, sign_in
from tests.conftest import login
from tests.support.bots import Customer, demo_flow, make_channel, rows_of, unique_teams, wa_id_for
from tests.support.servers import LiveWorker


async def test_the_claiming_agent_sees_the_bot_exchange_and_the_handoff_note(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, ctx: AppContext,
    worker: LiveWorker,
) -> None:  # fmt: skip
    teams = unique_teams()
    channel = await make_channel(ctx, teams["General"])
    async with ctx.sessions() as session:
        for name in teams.values():
            await get_or_create_team(session, name)
        await session.commit()
    admin = await login(client, await make_agent("admin", teams=[]))
    loaded = await client.put(f"/api/v1/channels/{channel['id']}/bot",
                              content=demo_flow(teams).encode(), headers=admin)  # fmt: skip
    assert loaded.status_code == 200, loaded.text
    olivia = await make_agent(name="Olivia Orders", teams=[teams["Orders"]])
    page = await new_page("olivia")
    await sign_in(page, olivia)

    priya = Customer(client, channel["phone_number_id"], wa_id_for("44"), name="Priya Patel")
    await priya.says("Hello, my parcel is late")
    _, topics = await priya.wait_for_messages(2)
    await priya.picks(rows_of(topics)[0]["id"], "Orders")
    await priya.wait_for_messages(3)
    await priya.says("B-778899")
    await priya.wait_for_messages(5)

    item = conversation_item(page, "Priya Patel")
    await expect(item).to_be_visible()
    await item.click()
    pane = conversation_pane(page)
    await pane.get_by_role("button", name="Claim").click()
    await expect(pane.get_by_role("button", name="Resolve")).to_be_visible()

    messages = page.get_by_role("list", name="Messages")
    note = messages.locator(".note-handoff .system-note")
    await expect(note).to_be_visible()
    await expect(note).to_contain_text(f"Bot handoff to {teams['Orders']} (priority 1)")
    await expect(note).to_contain_text("Topic: Orders")
    await expect(note).to_contain_text("Order number: B-778899")
    await expect(note).to_contain_text(
        "Customer said: Hello, my parcel is late · [Orders] · B-778899"
    )
    # the bot's side of the exchange, and the customer's, are in the timeline too
    bot_lines = messages.locator(".sender-bot .text")
    await expect(bot_lines.first).to_have_text(re.compile(r"^Hi! I'm the Switchboard assistant"))
    await expect(
        messages.locator(".sender-bot .text").filter(has_text="Please send your order number")
    ).to_be_visible()
    await expect(
        messages.locator(".sender-customer .text").filter(has_text="B-778899")
    ).to_be_visible()
    await expect(
        messages.locator(".sender-bot .list-row .row-title").filter(has_text="Talk to a person")
    ).to_be_visible()
