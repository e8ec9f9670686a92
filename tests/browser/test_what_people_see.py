"""What agents see of what customers chose to be called: long names wrap, bidi controls show."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.helpers import conversation_item, conversation_pane, customer_says, sign_in
from tests.support.whatsapp import new_wa_id


async def _page_width(page: object) -> tuple[int, int]:
    return await page.evaluate(  # type: ignore[attr-defined,no-any-return]
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )


async def test_a_250_character_name_wraps_and_bidi_controls_are_visible(
    new_page: NewPage, make_agent: object, client: httpx.AsyncClient
) -> None:
    long_name = "W" * 250  # the webhook parser keeps 255 characters of a name
    tricky = "user\u202egnp.exe"
    await customer_says(client, new_wa_id(), long_name, "a very long name")
    await customer_says(client, new_wa_id(), tricky, "a tricky name")
    for width in (1280, 390):
        page = await new_page(f"inbox-{width}")
        await page.set_viewport_size({"width": width, "height": 800})
        await sign_in(page, await make_agent("agent"))  # type: ignore[operator]
        shown = "user[U+202E]gnp.exe"
        await expect(page.get_by_text(shown).first).to_be_visible()
        assert await page.get_by_text(tricky).count() == 0
        await conversation_item(page, long_name).first.click()
        await expect(conversation_pane(page).get_by_text("a very long name").first).to_be_visible()
        scroll_width, inner = await _page_width(page)
        assert scroll_width <= inner, (width, scroll_width)
