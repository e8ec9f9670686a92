"""The pages work under the Content-Security-Policy: the API docs render from our own files,
the sandbox phone chats, and no page reports a CSP violation."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, Route, expect

from tests.browser.conftest import NewPage
from tests.browser.helpers import sign_in
from tests.support.servers import LiveServer


def watch_csp(page: Page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return violations


async def test_docs_page_renders_offline_under_the_csp(
    new_page: NewPage, server: LiveServer
) -> None:
    page = await new_page("docs")
    violations = watch_csp(page)
    outside: list[str] = []

    async def only_ours(route: Route) -> None:
        if route.request.url.startswith(server.base_url):
            await route.continue_()
        else:  # an offline desk: nothing from elsewhere may be needed
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_ours)
    # Swagger UI renders the operations near the viewport only: deep-link to the tag looked for.
    await page.goto("/schema#/conversations")
    await expect(page.get_by_text("/api/v1/conversations", exact=True).first).to_be_visible()
    assert violations == [] and outside == []


async def test_the_inbox_and_the_phone_run_without_violations(
    new_page: NewPage, make_agent: Any
) -> None:
    phone = await new_page("phone")
    phone_violations = watch_csp(phone)
    await phone.goto("/sandbox?wa_id=4915199990001&name=Csp%20Customer")
    await phone.get_by_role("textbox", name="Message").fill("hello under a CSP")
    await phone.get_by_role("button", name="Send").click()
    await expect(phone.get_by_text("hello under a CSP")).to_be_visible()
    await expect(phone.get_by_text("✓")).to_be_visible()
    inbox = await new_page("inbox")
    inbox_violations = watch_csp(inbox)
    await sign_in(inbox, await make_agent("agent"))
    await expect(inbox.get_by_text("Csp Customer").first).to_be_visible()
    assert phone_violations == [] and inbox_violations == []
