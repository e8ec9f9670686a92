"""The 24-hour window never dead-ends a chat: the agent picks a template, fills its variables
with the preview in sight, and the customer's phone receives it as a template."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import expect
from sqlalchemy import update
from sqlmodel import col

from backend.conversations.models import Contact
from backend.core.context import AppContext
from backend.db.types import utcnow
from tests.browser.conftest import NewPage
from tests.browser.helpers import (
    bearer,
    claim,
    conversation_item,
    conversation_of,
    conversation_pane,
    customer_says,
    message_item,
    sign_in,
)
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id


async def test_a_silent_chat_is_reopened_with_a_template_from_the_composer(
    new_page: NewPage,
    make_agent: Any,
    client: httpx.AsyncClient,
    ctx: AppContext,
    worker: LiveWorker,
) -> None:
    lena = await make_agent("lead", name="Lena Lead")
    lead = await bearer(client, lena)
    assert (await client.post("/api/v1/templates/sync", headers=lead)).status_code == 200
    agent = await make_agent(name="Mira Okafor", teams=["General"])
    ingrid = new_wa_id()
    await customer_says(client, ingrid, "Ingrid Halvorsen", "Wann kommt mein Paket?")
    as_mira = await bearer(client, agent)
    await claim(client, as_mira, (await conversation_of(client, as_mira, ingrid))["id"])
    async with ctx.sessions() as session:
        await session.execute(
            update(Contact).where(col(Contact.wa_id) == ingrid)
            .values(last_inbound_at=utcnow() - timedelta(hours=26), language="de")
        )  # fmt: skip
        await session.commit()

    page = await new_page("agent")
    await sign_in(page, agent)
    pane = conversation_pane(page)
    await conversation_item(page, "Ingrid Halvorsen").click()
    await expect(pane.get_by_text("Template required", exact=True)).to_be_visible()
    await expect(pane.get_by_role("button", name="Send", exact=True)).to_be_disabled()

    await pane.get_by_role("button", name="Template", exact=True).click()
    picker = page.get_by_role("dialog", name="Send a template to Ingrid Halvorsen")
    await expect(picker).to_be_visible()
    await picker.get_by_label("Search templates").fill("bestellung")
    await expect(picker.get_by_role("radio")).to_have_count(1)
    await picker.get_by_role("radio", name="order_update").check()
    await expect(picker.get_by_label("Language")).to_have_value("de")  # the contact's own first
    send = picker.get_by_role("button", name="Send template")
    await expect(send).to_be_disabled()
    await expect(picker.get_by_label("Still missing")).to_contain_text("Body {{1}} is required")
    await picker.get_by_label("Body {{1}}").fill("Ingrid")
    await picker.get_by_label("Body {{2}}").fill("A-4711")
    preview = (
        "Hallo Ingrid, deine Bestellung A-4711 ist unterwegs. Antworte hier, wenn du Fragen hast."
    )
    await expect(picker.get_by_role("region", name="Preview")).to_have_text(preview)
    await send.click()
    await expect(picker).to_be_hidden()
    sent = message_item(page, preview)
    await expect(sent.locator(".delivery")).to_have_text("read", timeout=10_000)
    await expect(sent.locator(".template-ref")).to_have_text("Template order_update · v1 · de")

    async def at_the_phone() -> Any:
        items = (await client.get("/sandbox/api/messages", params={"wa_id": ingrid})).json()
        return items or None

    [received] = await eventually(at_the_phone, within=10, what="the template at the phone")
    assert received["body"]["type"] == "template"
    assert received["body"]["template"] == {"name": "order_update", "language": {"code": "de"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Ingrid"}, {"type": "text", "text": "A-4711"}]}]}  # fmt: skip

    # The lead's reports list the template with its figures for the period.
    board = await new_page("lead")
    await sign_in(board, lena)
    await board.get_by_role("button", name="Dashboard").click()
    table = board.get_by_role("region", name="Templates")
    row = table.get_by_role("row").filter(has=board.get_by_role("rowheader", name="order_update"))
    row = row.filter(has=board.get_by_role("cell", name="de", exact=True))
    await expect(row).to_have_count(1)
    # sent: at least this one (other tests of the session send it too)
    await expect(row.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^[1-9]\d*$"))
