"""What customers send besides words is readable in the thread: shared contact cards (whose
links are only ever web links), a catalogue order with its total, a WhatsApp Flow's answers."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from backend.channels.sandbox.webhooks import new_wamid
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import conversation_item, sign_in
from tests.support.whatsapp import CHANNEL, new_wa_id, post_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "fixtures" / "pywa" / "message.json"


def message_body(case: str, wa_id: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(json.loads(FIXTURES.read_text())[case])
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = CHANNEL
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    message = value["messages"][0]
    message.update(id=new_wamid(), timestamp=str(int(time.time())))
    message["from"] = wa_id
    return body


async def test_contact_cards_orders_and_flow_answers_are_readable(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    cards, order, flow = message_body("contacts", new_wa_id(), "Chandler Sharer"), None, None
    shared = cards["entry"][0]["changes"][0]["value"]["messages"][0]["contacts"]
    shared[0]["urls"] = [
        {"url": "javascript:alert(document.cookie)"},
        {"url": "https://example.com/chandler"},
    ]
    shared[0]["emails"] = [{"email": "chandler@example.com", "type": "WORK"}]
    order = message_body("order", new_wa_id(), "Olga Orderer")
    flow = message_body("text", new_wa_id(), "Fiona Former")
    message = flow["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message["type"] = "interactive"
    message["interactive"] = {"type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent",
        "response_json": json.dumps({"flow_token": "tok-1", "screen_0_Delivery_date_0": "2026-12-24",
                                     "screen_0_Extras_1": ["gift wrap", "card"]}),
    }}  # fmt: skip
    for body in (cards, order, flow):
        response = await post_webhook(client, body)
        assert response.status_code == 200, response.text

    lead = await make_agent("lead")
    page = await new_page("lead")
    await sign_in(page, lead)
    thread = page.get_by_role("list", name="Messages")

    await conversation_item(page, "Chandler Sharer").click()
    contacts = thread.get_by_role("list", name="Shared contacts")
    await expect(contacts.get_by_role("listitem")).to_have_count(3)
    first = contacts.get_by_role("listitem").first
    await expect(first).to_contain_text("Chandler Bing")
    await expect(first.get_by_role("link", name="CELL: +1 555-555-5555")).to_have_attribute(
        "href", "tel:+15555555555"
    )
    await expect(first).to_contain_text("chandler@example.com")
    await expect(first.get_by_role("link", name="https://example.com/chandler")).to_be_visible()
    assert await page.locator('a[href^="javascript:"]').count() == 0
    await expect(first).not_to_contain_text("javascript:")

    await conversation_item(page, "Olga Orderer").click()
    table = thread.get_by_role("table", name="Order")
    await expect(table.get_by_role("row")).to_have_count(5)  # head, three items, total
    await expect(table.get_by_role("row").filter(has_text="HAMBURGER")).to_contain_text("3")
    await expect(table.get_by_role("row").filter(has_text="Total")).to_contain_text("180")

    await conversation_item(page, "Fiona Former").click()
    answers = thread.locator(".flow-reply")
    await expect(answers).to_contain_text("Delivery date")
    await expect(answers).to_contain_text("2026-12-24")
    await expect(answers).to_contain_text("gift wrap, card")
    await expect(answers).not_to_contain_text("tok-1")
    await assert_accessible(page, at_390=True)
