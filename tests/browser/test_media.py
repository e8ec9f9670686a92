"""Media in the inbox, in Chromium: a customer's photo renders, their voice note plays (its
duration is known), and a PDF dropped on the composer reaches the sandbox phone."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
from playwright.async_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import bearer, claim, conversation_item, conversation_of, sign_in
from tests.support.media_samples import PDF, ogg_opus, png
from tests.support.servers import LiveServer, LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id

DROP_FILE = """
([selector, b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  for (const kind of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }
}
"""


async def _customer_sends(
    client: httpx.AsyncClient, wa_id: str, media: dict[str, Any], name: str = "Nadia Media"
) -> None:
    response = await client.post(
        "/sandbox/api/inbound", json={"from": wa_id, "name": name, "media": media}
    )
    assert response.status_code == 200 and response.json()["webhook_status"] == 200, response.text


async def test_photo_and_voice_note_show_and_a_dropped_pdf_reaches_the_phone(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, server: LiveServer,
    worker: LiveWorker,
) -> None:  # fmt: skip
    agent = await make_agent(name="Mina Media", teams=["General"])
    headers = await bearer(client, agent)
    wa_id = new_wa_id()
    photo = png(120, 80, (20, 120, 200))
    await _customer_sends(client, wa_id, {
        "type": "image", "mime_type": "image/png", "data": base64.b64encode(photo).decode(),
        "caption": "The parcel arrived like this",
    })  # fmt: skip
    await _customer_sends(client, wa_id, {
        "type": "audio", "mime_type": "audio/ogg; codecs=opus", "voice": True,
        "data": base64.b64encode(ogg_opus(2.0)).decode(),
    })  # fmt: skip
    conversation = await conversation_of(client, headers, wa_id)

    async def both_stored() -> bool:
        items = (
            await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
            )
        ).json()["items"]
        return sum(1 for m in items if (m["media"] or {}).get("state") == "stored") == 2

    await eventually(both_stored, what="both files stored")
    await claim(client, headers, conversation["id"])

    page = await new_page("agent")
    await sign_in(page, agent)
    await conversation_item(page, "Nadia Media").click()
    messages = page.get_by_role("list", name="Messages")
    image = messages.get_by_role("img", name="The parcel arrived like this")
    await expect(image).to_be_visible()
    width = await eventually(
        lambda: image.evaluate("(img) => img.complete && img.naturalWidth"), what="the photo drawn"
    )
    assert width == 120
    await expect(messages.get_by_text("The parcel arrived like this", exact=True)).to_be_visible()

    voice = messages.locator("audio[aria-label='Voice note']")
    await expect(voice).to_be_attached()
    duration = await eventually(
        lambda: voice.evaluate("(a) => Number.isFinite(a.duration) && a.duration > 0 ? a.duration : 0"),
        within=10, what="the voice note's duration",
    )  # fmt: skip
    assert abs(duration - 2.0) < 0.2
    await expect(messages.get_by_text(re.compile(r"Voice note · 0:02"))).to_be_visible()
    await voice.evaluate("(a) => { a.muted = true; return a.play(); }")
    await eventually(
        lambda: voice.evaluate("(a) => a.currentTime > 0"), what="the voice note plays"
    )
    await voice.evaluate("(a) => a.pause()")
    speed = messages.get_by_role("button", name="Playback speed 1×")  # noqa: RUF001
    await speed.click()
    assert await voice.evaluate("(a) => a.playbackRate") == 1.5

    await image.click()  # the full-size viewer
    viewer = page.get_by_role("dialog", name="Photo")
    await expect(viewer).to_be_visible()
    await viewer.get_by_role("button", name="Close").click()
    await expect(viewer).to_be_hidden()

    await expect(page.get_by_role("button", name="Attach", exact=True)).to_be_visible()
    await page.evaluate(
        DROP_FILE,
        ["form.composer", base64.b64encode(PDF).decode(), "invoice-77.pdf", "application/pdf"],
    )
    await expect(page.get_by_text("invoice-77.pdf")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"document · \d+ B"))).to_be_visible()
    await page.get_by_role("textbox", name="Message").fill("Your invoice")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(messages.get_by_role("link", name="Download")).to_be_visible()

    async def at_the_phone() -> dict[str, Any] | None:
        sent = (await client.get("/sandbox/api/messages", params={"wa_id": wa_id})).json()
        return next((m for m in sent if m["type"] == "document"), None)

    document = (await eventually(at_the_phone, what="the PDF at the phone"))["body"]["document"]
    assert document["filename"] == "invoice-77.pdf" and document["caption"] == "Your invoice"
    shown = await client.get(f"/sandbox/api/media/{document['id']}")
    assert shown.content == PDF

    phone = await new_page("phone")
    await phone.goto(f"/sandbox?wa_id={wa_id}&name=Nadia+Media")
    await expect(phone.get_by_role("link", name="📄 invoice-77.pdf")).to_be_visible()
    await expect(phone.get_by_role("button", name="Attach", exact=True)).to_be_visible()
    await assert_accessible(phone, at_390=True)  # the phone with media in it


async def test_a_photo_as_the_last_message_shows_as_a_thumbnail_in_the_list(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    agent = await make_agent(name="Theo Thumb", teams=["General"])
    headers = await bearer(client, agent)
    wa_id = new_wa_id()
    await _customer_sends(client, wa_id, {
        "type": "image", "mime_type": "image/png", "data": base64.b64encode(png(64, 48, (200, 40, 40))).decode(),
    }, name="Tessa Thumb")  # fmt: skip
    conversation = await conversation_of(client, headers, wa_id)

    async def stored() -> bool:
        found = (
            await client.get(f"/api/v1/conversations/{conversation['id']}", headers=headers)
        ).json()
        return ((found["last_message"] or {}).get("media") or {}).get("state") == "stored"

    await eventually(stored, what="the photo stored")
    page = await new_page("agent")
    await sign_in(page, agent)
    thumb = conversation_item(page, "Tessa Thumb").locator("img.list-thumb")
    await expect(thumb).to_be_visible()
    width = await eventually(
        lambda: thumb.evaluate("(img) => img.complete && img.naturalWidth"),
        what="the thumbnail drawn",
    )
    assert width == 64
    await expect(conversation_item(page, "Tessa Thumb")).to_contain_text("[Photo]")
