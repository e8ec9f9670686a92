"""The edges of a conversation: a send WhatsApp refuses shows why and can be retried, another
agent's chat is read only, and a closed 24-hour window asks for a template."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import expect
from sqlalchemy import update
from sqlmodel import col

from backend.conversations.models import Contact
from backend.core.context import AppContext
from backend.db.types import utcnow
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import (
    bearer,
    claim,
    conversation_item,
    conversation_of,
    conversation_pane,
    customer_received,
    customer_says,
    message_item,
    sign_in,
)
from tests.support.servers import LiveWorker
from tests.support.whatsapp import new_wa_id

UNDELIVERABLE = 131026  # a permanent Cloud API error: not retried by itself


async def test_failed_send_held_chat_and_closed_window(
    new_page: NewPage,
    make_agent: Any,
    client: httpx.AsyncClient,
    ctx: AppContext,
    worker: LiveWorker,
) -> None:
    daniel = await make_agent(name="Daniel Costa", teams=["General"])
    hannah = await make_agent(name="Hannah Schmidt", teams=["General"])
    tomas, grace, yuki = new_wa_id(), new_wa_id(), new_wa_id()
    await customer_says(client, tomas, "Tomás Alvarez", "Hi, where can I download my invoice?")
    await customer_says(client, grace, "Grace Mensah", "I'd like to return a pair of shoes.")
    await customer_says(client, yuki, "Yuki Tanaka", "Is the blue jacket back in stock?")
    as_daniel, as_hannah = await bearer(client, daniel), await bearer(client, hannah)
    await claim(client, as_daniel, (await conversation_of(client, as_daniel, tomas))["id"])
    await claim(client, as_hannah, (await conversation_of(client, as_hannah, grace))["id"])
    await claim(client, as_daniel, (await conversation_of(client, as_daniel, yuki))["id"])
    # Yuki last wrote 25 hours ago: the customer-service window has closed.
    async with ctx.sessions() as session:
        await session.execute(
            update(Contact)
            .where(col(Contact.wa_id) == yuki)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
        await session.commit()
    # WhatsApp refuses the next send to Tomás, permanently.
    fault = await client.post(
        "/sandbox/api/faults", json={"code": UNDELIVERABLE, "count": 1, "wa_id": tomas}
    )
    assert fault.status_code == 201, fault.text

    page = await new_page("agent")
    await sign_in(page, daniel)
    pane = conversation_pane(page)

    # ------------------------------------------------------------ a failed send, then Retry
    await conversation_item(page, "Tomás Alvarez").click()
    text = "You'll find it under Account → Orders → Invoice. I can email it to you too."
    await page.get_by_role("textbox", name="Message").fill(text)
    await page.get_by_role("textbox", name="Message").press("Enter")
    sent = message_item(page, text)
    await expect(sent.locator(".delivery")).to_have_text("failed", timeout=5_000)
    await expect(sent.locator(".error-detail")).to_contain_text(f"(code {UNDELIVERABLE})")
    assert await customer_received(client, tomas, [], within=0) == []
    await assert_accessible(page, at_390=True)  # a failed message with its Retry button

    await sent.get_by_role("button", name="Retry").click()
    await expect(sent.locator(".delivery")).to_have_text("read", timeout=5_000)
    await expect(sent.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(sent.locator(".error-detail")).to_have_count(0)
    assert await customer_received(client, tomas, [text]) == [text]

    # ------------------------------------------------------------ another agent's chat
    await conversation_item(page, "Grace Mensah").click()
    await expect(pane.get_by_role("heading", name="Grace Mensah")).to_be_visible()
    await expect(pane.get_by_text("Assigned to Hannah Schmidt — read only")).to_be_visible()
    await expect(message_item(page, "I'd like to return a pair of shoes.")).to_be_visible()
    for action in ("Claim", "Release", "Transfer", "Resolve"):
        await expect(pane.get_by_role("button", name=action)).to_have_count(0)
    await expect(page.get_by_role("textbox", name="Message")).to_have_count(0)

    # ------------------------------------------------------------ the 24-hour window is closed
    await conversation_item(page, "Yuki Tanaka").click()
    await expect(pane.get_by_role("heading", name="Yuki Tanaka")).to_be_visible()
    await expect(pane.get_by_text("Template required", exact=True)).to_be_visible()
    await page.get_by_role("textbox", name="Message").fill("Yes, it is back in all sizes!")
    await expect(pane.get_by_role("button", name="Send")).to_be_disabled()
    await assert_accessible(page)  # the closed-window composer
