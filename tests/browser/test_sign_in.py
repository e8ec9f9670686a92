"""Signing in and out of the inbox through the form, as an agent does."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import sign_in


async def test_sign_in_page_loads_at_root(new_page: NewPage) -> None:
    page = await new_page()
    await page.goto("/")
    await expect(page.get_by_label("Email")).to_be_visible()
    await expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    await expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    await assert_accessible(page, at_390=True)


async def test_wrong_password_shows_an_alert(new_page: NewPage, make_agent: Any) -> None:
    agent = await make_agent(name="Mara Lindqvist")
    page = await new_page()
    await page.goto("/")
    await page.get_by_label("Email").fill(agent["email"])
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    await expect(page.get_by_label("Password")).to_be_visible()


async def test_sign_in_shows_the_inbox_and_sign_out_returns(
    new_page: NewPage, make_agent: Any
) -> None:
    agent = await make_agent(name="Mara Lindqvist")
    page = await new_page()
    await sign_in(page, agent)
    await expect(page.locator(".topbar")).to_contain_text("Mara Lindqvist")
    await expect(page.get_by_role("region", name="Conversation")).to_be_visible()

    # The session survives a reload (it is a cookie, not page state) ...
    await page.reload()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # ... until the agent signs out, which ends it on the server too.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.get_by_label("Email")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
