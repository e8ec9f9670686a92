"""Two-factor sign-in through the form: the code field appears when the account needs it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
from playwright.async_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.conftest import login


async def test_an_agent_with_two_factor_signs_in_with_their_code(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    agent = await make_agent("agent")
    headers = await login(client, agent)
    secret = (await client.post("/api/v1/me/two-factor/setup", headers=headers)).json()["secret"]
    enabled = await client.post(
        "/api/v1/me/two-factor/enable", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert enabled.status_code == 200
    page = await new_page("two-factor")
    await page.goto("/")
    await page.get_by_label("Email").fill(agent["email"])
    await page.get_by_label("Password").fill(agent["password"])
    await page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("Authentication code")
    await expect(code).to_be_visible()
    await assert_accessible(page, at_390=True)
    await code.fill("000000")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("That code is not right.")
    await code.fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def test_an_agent_sets_up_two_factor_and_signs_out_everywhere_in_the_browser(
    new_page: NewPage, make_agent: Any
) -> None:
    from tests.browser.helpers import sign_in

    agent = await make_agent("agent")
    other = await new_page("other-device")
    await sign_in(other, agent)
    page = await new_page("account")
    await sign_in(page, agent)
    await page.get_by_role("button", name="Account", exact=True).click()
    await page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = (await page.locator(".totp-secret").inner_text()).strip()
    await page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    sessions = page.get_by_role("list", name="Sessions").get_by_role("listitem")
    await expect(sessions).to_have_count(2)
    await assert_accessible(page, at_390=True)
    await page.get_by_role("button", name="Sign out everywhere").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await other.reload()
    await expect(other.get_by_role("button", name="Sign in")).to_be_visible()
