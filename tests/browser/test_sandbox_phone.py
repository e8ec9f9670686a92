"""The sandbox phone tries by hand what WhatsApp sends today: a customer known only by a
username, the business typing on its Business-app phone (an echo), a message written long ago."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.async_api import expect
from sqlmodel import col, select

from backend.conversations.models import Contact, Conversation, Message
from backend.core.context import AppContext
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.support.waiting import eventually


async def test_a_username_customer_an_echo_and_a_late_message_from_the_phone(
    new_page: NewPage, ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    username = f"sandbox.{int(time.time() * 1000) % 10**9}"
    phone = await new_page("phone")
    await phone.goto("/sandbox")
    await phone.get_by_label("a username only (no number)").check()
    await expect(phone.get_by_label("Phone number", exact=True)).to_be_hidden()
    await phone.get_by_role("textbox", name="Username").fill(username)
    await phone.get_by_role("textbox", name="Name", exact=True).fill("Uma Username")
    await phone.get_by_role("button", name="Start chat").click()
    await expect(phone.locator("#subtitle")).to_have_text(f"@{username}")
    await assert_accessible(phone, at_390=True)

    message = phone.get_by_role("textbox", name="Message")
    await message.fill("Hi, I only have a username")
    await message.press("Enter")

    async def contact() -> Contact | None:
        async with ctx.sessions() as session:
            found = await session.execute(select(Contact).where(col(Contact.username) == username))
            return found.scalar_one_or_none()

    customer = await eventually(contact, what="the username customer")
    assert customer.wa_id is None and re.fullmatch(r"US\.\d{20}", customer.user_id or "")

    await phone.get_by_text("Options for the next message").click()
    await phone.get_by_label("Typed by the business on its WhatsApp Business app (echo)").check()
    await message.fill("Typed on the business phone")
    await message.press("Enter")
    await expect(phone.locator(".bubble.business.echo")).to_contain_text(
        "Typed on the business phone"
    )

    await phone.get_by_label("Written").select_option(
        label="26 hours ago (outside the 24-hour window)"
    )
    await message.fill("Sent yesterday, delivered now")
    await message.press("Enter")

    async def stored() -> list[Message] | None:
        async with ctx.sessions() as session:
            rows = list((await session.execute(
                select(Message).join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(col(Conversation.contact_id) == customer.id, col(Message.text).in_(
                    ["Typed on the business phone", "Sent yesterday, delivered now"]))
            )).scalars())  # fmt: skip
        return rows if len(rows) == 2 else None

    found = {m.text: m for m in await eventually(stored, what="the echo and the late message")}
    echo, late = found["Typed on the business phone"], found["Sent yesterday, delivered now"]
    assert (echo.direction, echo.sender) == ("outbound", "business_app")
    assert (late.direction, late.sender) == ("inbound", "customer")
    assert late.provider_timestamp is not None
    assert time.time() - late.provider_timestamp.timestamp() > 25 * 3600
