"""What the browser tests share: signing in, finding things on the page, playing the customer
through the WhatsApp sandbox, and cutting a page's live connection."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
from playwright.async_api import Locator, Page, WebSocketRoute, expect


async def sign_in(page: Page, agent: dict[str, Any]) -> None:
    """Signs in through the form and waits for the inbox shell."""
    await page.goto("/")
    await page.get_by_label("Email").fill(agent["email"])
    await page.get_by_label("Password").fill(agent["password"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.get_by_role("list", name="Conversations")).to_be_attached()


def conversation_item(page: Page, customer: str) -> Locator:
    """The entry of the `Conversations` list that shows this customer's name."""
    name = re.compile(f"^{re.escape(customer)}$")
    return (
        page.get_by_role("list", name="Conversations")
        .get_by_role("listitem")
        .filter(has=page.locator(".contact-name").filter(has_text=name))
    )


def conversation_pane(page: Page) -> Locator:
    return page.get_by_role("region", name="Conversation")


def message_item(page: Page, text: str) -> Locator:
    """One message of the open conversation, by its text."""
    return (
        page.get_by_role("list", name="Messages")
        .get_by_role("listitem")
        .filter(has=page.locator(".text").filter(has_text=re.compile(f"^{re.escape(text)}$")))
    )


async def customer_says(client: httpx.AsyncClient, wa_id: str, name: str, text: str) -> None:
    """The customer writes on WhatsApp: the sandbox delivers a signed webhook and returns once
    Switchboard has stored it."""
    response = await client.post(
        "/sandbox/api/inbound", json={"from": wa_id, "name": name, "text": text}
    )
    assert response.status_code == 200, response.text
    assert response.json()["webhook_status"] == 200, response.text


async def customer_received(
    client: httpx.AsyncClient, wa_id: str, texts: list[str], within: float = 5.0
) -> list[str]:
    """Waits until the customer's phone has every one of `texts`; returns all it received."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get("/sandbox/api/messages", params={"wa_id": wa_id})
        assert response.status_code == 200, response.text
        got = [m["body"].get("text", {}).get("body") for m in response.json()]
        if all(text in got for text in texts) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


async def bearer(client: httpx.AsyncClient, agent: dict[str, Any]) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def conversation_of(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> dict[str, Any]:
    response = await client.get("/api/v1/conversations", params={"q": wa_id}, headers=headers)
    assert response.status_code == 200, response.text
    found = [c for c in response.json()["items"] if c["contact"]["wa_id"] == wa_id]
    assert found, f"no conversation for {wa_id}"
    return found[0]


async def claim(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: Any) -> None:
    response = await client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=headers)
    assert response.status_code == 200, response.text


async def wait_until_live(
    client: httpx.AsyncClient, headers: dict[str, str], *agents: dict[str, Any]
) -> None:
    """Waits until each agent's websocket is subscribed (the server then marks them online)."""
    ids = {agent["id"] for agent in agents}
    deadline = time.monotonic() + 5
    while True:
        response = await client.get("/api/v1/agents", headers=headers)
        assert response.status_code == 200, response.text
        online = {a["id"] for a in response.json()["items"] if a["presence"] == "online"}
        if ids <= online:
            return
        assert time.monotonic() < deadline, f"agents {ids - online} never came online"
        await asyncio.sleep(0.05)


class SocketCutter:
    """Routes a page's websockets through Playwright so a test can cut them.

    Chromium keeps an open websocket alive under `context.set_offline(True)` and under CDP's
    `Network.emulateNetworkConditions` offline, so going offline alone does not drop the live
    connection. While cut, new connection attempts are closed at once, like a dead network.
    """

    def __init__(self) -> None:
        self.online = True
        self.urls: list[str] = []
        self.requested = asyncio.Event()
        self._open: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self._go = asyncio.Event()
        self._go.set()

    def hold(self) -> None:
        """Connection attempts wait (as on a slow network) until `release()`."""
        self._go.clear()

    def release(self) -> None:
        self._go.set()

    async def attach(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/api/v1/ws(\?|$)"), self._handle)

    async def _handle(self, page_side: WebSocketRoute) -> None:
        self.urls.append(page_side.url)
        self.requested.set()
        await self._go.wait()
        if not self.online:
            await page_side.close(code=1001, reason="network down")
            return
        server_side = page_side.connect_to_server()
        self._open.append((page_side, server_side))

    async def cut(self, page: Page) -> None:
        self.online = False
        await page.context.set_offline(True)  # REST calls fail too, as on a real dead network
        open_now, self._open = self._open, []
        for page_side, server_side in open_now:
            await server_side.close(code=1001, reason="network down")
            await page_side.close(code=1001, reason="network down")

    async def restore(self, page: Page) -> None:
        self.online = True
        await page.context.set_offline(False)  # fires "online": the client reconnects at once


RECORD_DELIVERY_STATES = """
(() => {
  // Every delivery state each outbound message showed, in order, keyed by its text.
  window.__deliveryStates = {};
  const scan = () => {
    for (const item of document.querySelectorAll("li.message.outbound")) {
      const text = item.querySelector(".text")?.textContent ?? "";
      const state = item.querySelector(".delivery .status")?.textContent ?? "";
      const seen = (window.__deliveryStates[text] ??= []);
      if (state && seen[seen.length - 1] !== state) seen.push(state);
    }
  };
  new MutationObserver(scan).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


async def delivery_states(page: Page, text: str) -> list[str]:
    states: list[str] = await page.evaluate("(text) => window.__deliveryStates[text] ?? []", text)
    return states
