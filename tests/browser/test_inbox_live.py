"""Two agents, one customer, everything live: a customer message reaches both inboxes within a
second, a claim shows up for the other agent, replies reach the customer's phone and come back as
sent → delivered → read, and an inbox that loses its connection catches up on what it missed
without a reload."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, Request, expect

from tests.browser.conftest import NewPage
from tests.browser.helpers import (
    RECORD_DELIVERY_STATES,
    SocketCutter,
    bearer,
    claim,
    conversation_item,
    conversation_of,
    conversation_pane,
    customer_received,
    customer_says,
    delivery_states,
    message_item,
    sign_in,
    wait_until_live,
)
from tests.support.servers import LiveServer, LiveWorker
from tests.support.whatsapp import new_wa_id

LIVE_TIMEOUT = 2_000  # ms: the promise is "within a second"; the rest is headroom for slow CI


def reconnect_banner(page: Page) -> Locator:
    """The connection banner; other live regions (who else is viewing) are `status` too."""
    return page.locator(".reconnect-banner[role=status]")


async def _seen_after(locator: Locator, started: float) -> float:
    await locator.wait_for(state="visible", timeout=LIVE_TIMEOUT)
    return time.monotonic() - started


async def test_two_agents_work_one_conversation_live(
    new_page: NewPage,
    make_agent: Any,
    client: httpx.AsyncClient,
    server: LiveServer,
    worker: LiveWorker,
    artifacts_dir: Path,
) -> None:
    amira = await make_agent(name="Amira Haddad", teams=["General"])
    ben = await make_agent(name="Ben Okafor", teams=["General"])
    # Two customers already waiting when the agents sign in (loaded over REST, not live).
    await customer_says(
        client, new_wa_id(), "Sofia Marquez", "Can I still change the delivery address?"
    )
    await customer_says(
        client, new_wa_id(), "Kwame Asante", "My discount code SPRING10 is not accepted."
    )
    page_a = await new_page("agent-a")
    page_b = await new_page("agent-b")
    await page_a.add_init_script(RECORD_DELIVERY_STATES)
    cutter = SocketCutter()
    await cutter.attach(page_b)
    await asyncio.gather(sign_in(page_a, amira), sign_in(page_b, ben))
    await page_b.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    headers_a = await bearer(client, amira)
    await wait_until_live(client, headers_a, amira, ben)
    for page in (page_a, page_b):
        await expect(conversation_item(page, "Kwame Asante")).to_contain_text("SPRING10")

    # ------------------------------------------------------------ a customer writes
    lena, lena_name = new_wa_id(), "Lena Fischer"
    question = "Hi! My order #4821 still says 'processing'. Can you check when it ships?"
    started = time.monotonic()
    await customer_says(client, lena, lena_name, question)
    latencies = await asyncio.gather(
        _seen_after(conversation_item(page_a, lena_name), started),
        _seen_after(conversation_item(page_b, lena_name), started),
    )
    for page in (page_a, page_b):
        item = conversation_item(page, lena_name)
        await expect(item).to_contain_text(question, timeout=LIVE_TIMEOUT)
        await expect(item).to_contain_text("Queued")

    # ------------------------------------------------------------ A claims; B sees it taken
    await conversation_item(page_b, lena_name).click()
    pane_b = conversation_pane(page_b)
    await expect(pane_b.get_by_role("heading", name=lena_name)).to_be_visible()
    await expect(pane_b.get_by_role("button", name="Claim")).to_be_visible()

    await conversation_item(page_a, lena_name).click()
    pane_a = conversation_pane(page_a)
    await expect(message_item(page_a, question)).to_be_visible()
    await pane_a.get_by_role("button", name="Claim").click()
    await expect(pane_a.get_by_role("button", name="Resolve")).to_be_visible()

    await expect(pane_b.get_by_text("Assigned to Amira Haddad — read only")).to_be_visible(
        timeout=LIVE_TIMEOUT
    )
    await expect(pane_b.get_by_role("button", name="Claim")).to_have_count(0)
    await expect(page_b.get_by_role("textbox", name="Message")).to_have_count(0)
    await expect(conversation_item(page_b, lena_name)).to_contain_text("Amira Haddad")

    # ------------------------------------------------------------ A replies: Enter, then Send
    first = "Hi Lena, thanks for waiting! I'm checking with our warehouse right now."
    second = "Good news: it left this morning. Tracking number DHL 00340434161094015902."
    box = page_a.get_by_role("textbox", name="Message")
    await box.fill(first)
    await box.press("Enter")
    await expect(message_item(page_a, first)).to_be_visible()
    await expect(box).to_have_value("")
    await box.fill(second)
    await pane_a.get_by_role("button", name="Send").click()
    await expect(message_item(page_a, second)).to_be_visible()

    received = await customer_received(client, lena, [first, second])
    assert received == [first, second]
    for text in (first, second):
        await expect(message_item(page_a, text).locator(".delivery")).to_have_text(
            "read", timeout=5_000
        )
        states = await delivery_states(page_a, text)
        shown = [s for s in states if s in ("sent", "delivered", "read")]
        assert shown == ["sent", "delivered", "read"], states
    # B follows along read-only.
    await expect(message_item(page_b, second)).to_be_visible(timeout=LIVE_TIMEOUT)

    thanks = "Perfect, thank you so much!"
    await customer_says(client, lena, lena_name, thanks)
    await expect(message_item(page_a, thanks)).to_be_visible(timeout=LIVE_TIMEOUT)
    await page_a.get_by_role("textbox", name="Message").fill("You're welcome, Lena — enjoy!")
    await page_a.screenshot(path=artifacts_dir / "inbox.png")

    # ------------------------------------------------------------ A resolves
    await pane_a.get_by_role("button", name="Resolve").click()
    await expect(pane_a.get_by_text("This conversation is resolved.")).to_be_visible()
    await expect(pane_b.locator(".status-resolved")).to_be_visible(timeout=LIVE_TIMEOUT)

    # ------------------------------------------------------------ B drops off, events go on
    list_fetches: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "GET" and request.url.split("?")[0].endswith("/api/v1/conversations"):
            list_fetches.append(request.url)

    page_b.on("request", on_request)
    await cutter.cut(page_b)
    await expect(reconnect_banner(page_b)).to_have_text("Reconnecting…")

    jonas, jonas_name = new_wa_id(), "Jonas Weber"
    priya, priya_name = new_wa_id(), "Priya Nair"
    await customer_says(client, jonas, jonas_name, "Hello, I was charged twice for my last order.")
    await customer_says(client, priya, priya_name, "Do you deliver to Rotterdam?")
    await customer_says(client, jonas, jonas_name, "Both charges are from 12 March, €49.90 each.")
    await claim(client, headers_a, (await conversation_of(client, headers_a, jonas))["id"])
    await expect(conversation_item(page_a, jonas_name)).to_contain_text("Amira Haddad")
    await expect(conversation_item(page_b, jonas_name)).to_have_count(0)

    await cutter.restore(page_b)
    await expect(reconnect_banner(page_b)).to_have_text("", timeout=5_000)
    jonas_b, priya_b = conversation_item(page_b, jonas_name), conversation_item(page_b, priya_name)
    await expect(jonas_b).to_contain_text("Both charges are from 12 March, €49.90 each.")
    await expect(jonas_b).to_contain_text("Amira Haddad")
    await expect(priya_b).to_contain_text("Do you deliver to Rotterdam?")
    await expect(priya_b).to_contain_text("Queued")

    # It was the socket's replay, not a reload or a refetch of the list.
    assert await page_b.evaluate("window.__sameDocument === true")
    assert list_fetches == []
    resumed_from = int(cutter.urls[-1].rsplit("after=", 1)[1])
    assert resumed_from > 0, cutter.urls

    timings = {"customer message -> inbox A (s)": round(latencies[0], 3),
               "customer message -> inbox B (s)": round(latencies[1], 3)}  # fmt: skip
    (artifacts_dir / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(timings)


async def test_nothing_is_lost_between_the_list_load_and_the_socket(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    """The inbox reads the newest event seq before loading the list and opens its socket with
    `?after=` that seq, so an event in between is replayed instead of lost."""
    agent = await make_agent(name="Amira Haddad", teams=["General"])
    page = await new_page()
    cutter = SocketCutter()
    cutter.hold()
    await cutter.attach(page)
    await sign_in(page, agent)
    async with asyncio.timeout(5):
        await cutter.requested.wait()  # the list is loaded, the socket is on its way
    await expect(page.get_by_role("list", name="Conversations")).to_be_attached()

    customer, name = new_wa_id(), "Noah Petersen"
    await customer_says(client, customer, name, "Hi, is the store open on Sunday?")
    cutter.release()
    await expect(conversation_item(page, name)).to_contain_text(
        "Hi, is the store open on Sunday?", timeout=LIVE_TIMEOUT
    )
    assert "after=" in cutter.urls[0], cutter.urls
