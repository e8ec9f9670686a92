"""Every page passes axe-core (no serious or critical violation) and works at 390 px wide: the
sign-in form, the inbox with a conversation open, the lead's dashboard and the sandbox phone.

Each page is checked in a state with content in it (messages, buttons, charts), since an empty
page hides most of what can go wrong."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.browser.a11y import assert_accessible, axe_violations
from tests.browser.conftest import NewPage
from tests.browser.helpers import (
    bearer,
    claim,
    conversation_item,
    conversation_of,
    customer_says,
    message_item,
    sign_in,
)
from tests.conftest import unique
from tests.support.servers import LiveServer, LiveWorker
from tests.support.whatsapp import new_wa_id


async def test_the_sign_in_page(new_page: NewPage) -> None:
    page = await new_page()
    await page.goto("/")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await assert_accessible(page, at_390=True)


async def test_the_helper_finds_a_real_violation(new_page: NewPage) -> None:
    """The check can fail: an image button without a name is a critical violation to axe."""
    page = await new_page()
    await page.goto("/")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.evaluate(
        """() => { const b = document.createElement("button");
                   b.id = "nameless"; document.body.append(b); }"""
    )
    rules = {v["id"]: v["impact"] for v in await axe_violations(page)}
    assert rules.get("button-name") == "critical"


async def test_the_inbox_with_a_conversation_open(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    agent = await make_agent(name="Ines Duarte", teams=["General"])
    wa_id, customer = new_wa_id(), f"Axel Berg {unique('a11y')}"
    await customer_says(client, wa_id, customer, "Is the blue jacket back in stock?")
    for n in range(1, 13):  # enough history that it scrolls: a keyboard must reach it too
        await customer_says(client, wa_id, customer, f"Also, question {n}: which sizes are left?")
    headers = await bearer(client, agent)
    conversation = await conversation_of(client, headers, wa_id)
    await claim(client, headers, conversation["id"])
    page = await new_page()
    await sign_in(page, agent)
    await assert_accessible(page, at_390=True)
    await conversation_item(page, customer).click()
    await expect(message_item(page, "Is the blue jacket back in stock?")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    await box.fill("It is, in every size.")
    await box.press("Enter")
    await expect(message_item(page, "It is, in every size.")).to_be_visible()
    await assert_accessible(page, at_390=True)


async def test_the_dashboard(new_page: NewPage, make_agent: Any, server: LiveServer) -> None:
    lead = await make_agent("lead", name="Lars Lead", teams=[unique("A11y")])
    page = await new_page()
    await sign_in(page, lead)
    await page.get_by_role("button", name="Dashboard").click()
    await expect(page.get_by_role("region", name="Wallboard")).to_be_visible()
    await assert_accessible(page, at_390=True)


async def test_the_sandbox_phone(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    agent = await make_agent(name="Pia Agent", teams=["General"])
    wa_id, customer = new_wa_id(), "Noor Aziz"
    await customer_says(client, wa_id, customer, "Hello from the phone")
    headers = await bearer(client, agent)
    conversation = await conversation_of(client, headers, wa_id)
    await claim(client, headers, conversation["id"])
    sent = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers,
        json={"interactive": {"type": "button", "body": {"text": "Which one?"}, "action": {
            "buttons": [{"type": "reply", "reply": {"id": "a", "title": "The first"}},
                        {"type": "reply", "reply": {"id": "b", "title": "The second"}}]}}},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    page = await new_page()
    await page.goto(f"/sandbox?wa_id={wa_id}&name={customer}")
    await expect(page.get_by_role("button", name="The first")).to_be_visible()
    await assert_accessible(page, at_390=True)
