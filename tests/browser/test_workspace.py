"""The agent's workspace in a real browser: a private note with an @mention reaches the
mentioned colleague's bell and opens the chat for them; a chat is snoozed from its header."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

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
    sign_in,
)
from tests.conftest import unique
from tests.support.servers import LiveWorker
from tests.support.whatsapp import new_wa_id


async def test_a_note_with_a_mention_and_a_snooze(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    olga = await make_agent(name="Olga Petrova", teams=["General"])
    billing = unique("Billing")
    ravi = await make_agent(name="Ravi Menon", teams=[billing])
    wa_id = new_wa_id()
    customer = "Ines Moreau"
    await customer_says(client, wa_id, customer, "I was charged twice for my order")
    as_olga = await bearer(client, olga)
    cid = (await conversation_of(client, as_olga, wa_id))["id"]
    await claim(client, as_olga, cid)

    page_o = await new_page("olga")
    await sign_in(page_o, olga)
    page_r = await new_page("ravi")
    await sign_in(page_r, ravi)
    bell = page_r.get_by_role("button", name="Notifications")
    await expect(bell).to_have_accessible_description("no unread notifications")

    await conversation_item(page_o, customer).click()
    pane = conversation_pane(page_o)
    await pane.get_by_role("tab", name="Note").click()
    note_box = pane.get_by_role("textbox", name="Note")
    await note_box.press_sequentially("@Rav")
    await (
        pane.get_by_role("listbox", name="Agents")
        .get_by_role("option", name=re.compile("Ravi Menon"))
        .click()
    )
    await note_box.press_sequentially("could you check the double charge?")
    await pane.get_by_role("button", name="Add note").click()
    note = (
        pane.get_by_role("list", name="Messages")
        .get_by_role("listitem")
        .filter(has_text="Private note")
    )
    await expect(note).to_contain_text("@Ravi Menon could you check the double charge?")
    await expect(note).to_contain_text("Mentioned: Ravi Menon")
    await assert_accessible(page_o, at_390=True)

    # Ravi, in another team, is told at once and the notification opens the chat for him.
    await expect(bell).to_have_accessible_description("1 unread", timeout=15_000)
    await bell.click()
    await assert_accessible(page_r)
    entry = page_r.get_by_role("region", name="Notification list").get_by_role(
        "button", name=re.compile("mentioned you")
    )
    await expect(entry).to_contain_text("Olga Petrova mentioned you in the chat with Ines Moreau")
    await entry.click()
    pane_r = conversation_pane(page_r)
    await expect(pane_r.get_by_role("heading", name=customer)).to_be_visible()
    await expect(
        pane_r.get_by_text("@Ravi Menon could you check the double charge?")
    ).to_be_visible()
    await expect(bell).to_have_accessible_description("no unread notifications")
    # He may add a note, but not reply without claiming: the Reply tab is disabled for him.
    await expect(pane_r.get_by_role("tab", name="Reply")).to_have_attribute("aria-disabled", "true")
    await expect(pane_r.get_by_role("textbox", name="Message")).to_have_count(0)

    # Olga snoozes the chat until tomorrow morning; it leaves her "Mine" and shows its status.
    await pane.get_by_role("button", name="Snooze").click()
    await (
        pane.get_by_role("group", name="Snooze until")
        .get_by_role("button", name="Tomorrow 9:00")
        .click()
    )
    await expect(pane.locator(".pill.status-snoozed")).to_have_text("Snoozed")
    await expect(pane.get_by_text("Snoozed — it comes back by itself")).to_be_visible()
    await assert_accessible(page_o, at_390=True)
    snoozed = (await client.get(f"/api/v1/conversations/{cid}", headers=as_olga)).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"]
    # The note never went to the customer's phone.
    assert "could you check" not in " ".join(
        t or "" for t in await customer_received(client, wa_id, [], within=0)
    )


async def test_the_customer_panel_shows_the_profile_and_history(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    agent = await make_agent(name="Petra Novak", teams=["General"])
    headers = await bearer(client, agent)
    wa_id, customer = new_wa_id(), "Jonas Berg"
    await customer_says(client, wa_id, customer, "My order A-778899 never came")
    first = await conversation_of(client, headers, wa_id)
    await claim(client, headers, first["id"])
    contact_id = first["contact"]["id"]
    patched = await client.patch(f"/api/v1/contacts/{contact_id}",
                                 json={"attributes": {"order_number": "A-778899"}}, headers=headers)  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert (
        await client.post(f"/api/v1/conversations/{first['id']}/resolve", headers=headers)
    ).status_code == 200
    await customer_says(client, wa_id, customer, "Hello again, now the invoice is wrong")

    page = await new_page("petra")
    await sign_in(page, agent)
    await conversation_item(page, customer).filter(has_text="invoice").click()
    panel = page.get_by_role("complementary", name="Customer")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(panel).to_contain_text(customer)
    await expect(panel).to_contain_text("order number")
    await expect(panel).to_contain_text("A-778899")
    await expect(panel).to_contain_text("Subscribed")
    await assert_accessible(page, at_390=True)
    # A label added in the panel is kept on the contact.
    await panel.get_by_role("textbox", name="Add to customer labels").fill("VIP")
    await panel.get_by_role("textbox", name="Add to customer labels").press("Enter")
    await expect(panel.get_by_role("group", name="Customer labels")).to_contain_text("VIP")
    profile = (await client.get(f"/api/v1/contacts/{contact_id}", headers=headers)).json()
    assert profile["labels"] == ["VIP"]
    # The previous conversation opens, resolved and read-only.
    history = panel.get_by_role("list", name="Previous conversations")
    await history.get_by_role("button", name=re.compile("Resolved")).click()
    pane = conversation_pane(page)
    await expect(pane.get_by_text("My order A-778899 never came")).to_be_visible()
    await expect(pane.get_by_text("This conversation is resolved.")).to_be_visible()
    await expect(pane.get_by_role("textbox", name="Message")).to_have_count(0)


async def test_search_as_you_type_and_the_keyboard(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    agent = await make_agent(name="Mira Hoffmann", teams=["General"])
    outsider = await make_agent(name="Uwe Outsider", teams=[unique("Elsewhere")])
    word = "wobblecrank" + new_wa_id()[-4:].translate(str.maketrans("0123456789", "abcdefghij"))
    await customer_says(client, new_wa_id(), "Leon Brandt", f"The {word} on my bike squeaks")
    await customer_says(client, new_wa_id(), "Ada Lindqvist", "Where is my order?")

    page = await new_page("mira")
    await sign_in(page, agent)
    await expect(conversation_item(page, "Ada Lindqvist")).to_be_visible()
    await page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search")
    await expect(search).to_be_focused()
    await search.press_sequentially(word[:7])  # results while typing, before the word is whole
    found = page.get_by_role("list", name="Messages found").get_by_role("button")
    await expect(found).to_have_count(1)
    await expect(found.locator("mark")).to_have_text(re.compile(word, re.I))
    await assert_accessible(page, at_390=True)
    await found.click()
    await expect(conversation_pane(page).get_by_role("heading", name="Leon Brandt")).to_be_visible()

    # j / k walk the list, ? shows the shortcuts; typing in a field triggers nothing.
    await page.locator("body").click(position={"x": 5, "y": 300})
    names = page.get_by_role("list", name="Conversations").locator(".contact-name")
    first, second = await names.nth(0).inner_text(), await names.nth(1).inner_text()
    await page.keyboard.press("k")
    await page.keyboard.press("k")
    await expect(conversation_pane(page).get_by_role("heading", name=first)).to_be_visible()
    await page.keyboard.press("j")
    await expect(conversation_pane(page).get_by_role("heading", name=second)).to_be_visible()
    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_contain_text("Resolve the open conversation")
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)

    # Someone from another team finds nothing of it.
    other = await new_page("uwe")
    await sign_in(other, outsider)
    await other.get_by_role("searchbox", name="Search").fill(word)
    await expect(other.get_by_role("region", name="Search results")).to_contain_text(
        "Nothing found."
    )


async def test_an_admin_exports_and_erases_a_customers_data_from_the_panel(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    admin = await make_agent("admin", name="Ada Admin", teams=["General"])
    headers = await bearer(client, admin)
    wa_id, customer = new_wa_id(), "Erin Erasure"
    await customer_says(client, wa_id, customer, "Please delete everything about me")
    conversation = await conversation_of(client, headers, wa_id)
    page = await new_page("ada")
    await sign_in(page, admin)
    await conversation_item(page, customer).click()
    panel = page.get_by_role("complementary", name="Customer")
    data = panel.get_by_role("region", name="Customer data")
    async with page.expect_download() as downloading:
        await data.get_by_role("button", name="Export data").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".zip")
    saved = await download.path()
    archive = zipfile.ZipFile(io.BytesIO(await asyncio.to_thread(Path(saved).read_bytes)))
    assert "Please delete everything about me" in archive.read("contact.json").decode()
    await data.get_by_role("button", name="Erase data").click()
    dialog = data.get_by_role("alertdialog", name="Erase this customer's data")
    await assert_accessible(page, at_390=True)
    await dialog.get_by_role("button", name="Erase for good").click()
    await expect(data.get_by_role("status")).to_contain_text("Erased")
    messages = (
        await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=headers)
    ).json()["items"]
    assert all("delete everything" not in (m["text"] or "") for m in messages)
    # An agent sees the profile, but not the data controls (admins only, like the API).
    agent = await make_agent(name="Arno Agent", teams=["General"])
    await customer_says(client, new_wa_id(), "Otto Other", "Hi there")
    page2 = await new_page("arno")
    await sign_in(page2, agent)
    await conversation_item(page2, "Otto Other").click()
    other_panel = page2.get_by_role("complementary", name="Customer")
    await expect(other_panel.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(other_panel.get_by_role("region", name="Customer data")).to_have_count(0)
