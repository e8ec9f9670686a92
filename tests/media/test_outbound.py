"""Agents send files: WhatsApp's limits at upload, then upload-to-Meta and send-by-id in the worker."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from backend.channels.sandbox.webhooks import text_message_webhook
from backend.media.kinds import LIMITS, Refused, check_size, recognise
from tests.conftest import login
from tests.media.conftest import APP_SECRET, PHONE_NUMBER_ID
from tests.support.graph_media_standin import GraphMediaStandin
from tests.support.media_samples import JPEG, MP4, PDF, WEBP, ogg_opus, png
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id, post_webhook

MB = 1024 * 1024


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes,
    content_type: str = "application/octet-stream",
) -> httpx.Response:  # fmt: skip
    return await client.post(
        "/api/v1/uploads", headers=headers, files={"file": (name, data, content_type)}
    )


@pytest.fixture
async def agent(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("agent"))


@pytest.mark.parametrize(
    ("name", "data", "kind", "mime"),
    [
        ("photo.png", png(), "image", "image/png"),
        ("photo.jpg", JPEG, "image", "image/jpeg"),
        ("clip.mp4", MP4, "video", "video/mp4"),
        ("voice.ogg", ogg_opus(1.0), "audio", "audio/ogg"),
        ("sticker.webp", WEBP, "sticker", "image/webp"),
        ("invoice.pdf", PDF, "document", "application/pdf"),
        ("notes.txt", "Grüße, order A-123\n".encode(), "document", "text/plain"),
    ],
)
async def test_uploads_recognise_the_type_from_the_bytes(
    client: httpx.AsyncClient, agent: dict[str, str], name: str, data: bytes, kind: str, mime: str
) -> None:
    response = await upload(client, agent, name, data, "application/octet-stream")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == name and body["mime_type"] == mime and body["kind"] == kind
    assert body["size"] == len(data) and isinstance(body["id"], int)


@pytest.mark.parametrize(
    ("name", "data", "status", "reason"),
    [
        ("photo.png", png() + b"\0" * (5 * MB), 413, "image files may be at most 5.0 MB"),
        ("sticker.webp", WEBP + b"\0" * (500 * 1024), 413, "sticker files may be at most 500 KB"),
        ("clip.mp4", MP4 + b"\0" * (16 * MB), 413, "video files may be at most 16.0 MB"),
        ("voice.ogg", ogg_opus(1.0) + b"\0" * (16 * MB), 413, "audio files may be at most 16.0 MB"),
        ("page.html", b"<html><script>alert(1)</script></html>", 422, "WhatsApp accepts"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', 422, "WhatsApp accepts"),
        ("photo.jpg", b"#!/bin/sh\nrm -rf /\n", 422, "WhatsApp accepts"),  # renamed script
        ("song.ogg", b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis" + b"\x00" * 30, 422, "Opus"),
        ("empty.pdf", b"", 422, "empty"),
    ],
)
async def test_uploads_beyond_whatsapps_limits_say_which(
    client: httpx.AsyncClient, agent: dict[str, str], name: str, data: bytes, status: int,
    reason: str,
) -> None:  # fmt: skip
    response = await upload(client, agent, name, data, "image/png")
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]


def test_the_document_limit_is_100_mb() -> None:
    check_size("document", LIMITS["document"])
    with pytest.raises(Refused) as refused:
        check_size("document", LIMITS["document"] + 1)
    assert refused.value.status == 413 and "100.0 MB" in refused.value.detail
    assert recognise(b"PK\x03\x04" + b"\0" * 40, "report.docx").kind == "document"
    with pytest.raises(Refused):
        recognise(b"PK\x03\x04" + b"\0" * 40, "archive.zip")


async def test_uploads_need_a_signed_in_agent(client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        response = await upload(anonymous, {}, "photo.png", png())
    assert response.status_code == 401


async def _held(client: httpx.AsyncClient, agent: dict[str, str], wa_id: str) -> int:
    conversation = await find_conversation(client, agent, wa_id)
    claimed = await client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=agent)
    assert claimed.status_code == 200, claimed.text
    return int(conversation["id"])


async def test_an_image_reaches_the_sandbox_phone(
    client: httpx.AsyncClient, agent: dict[str, str], worker: LiveWorker
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Can you show me the part?")
    conversation_id = await _held(client, agent, wa_id)
    photo = png(40, 20)
    uploaded = (await upload(client, agent, "part.png", photo)).json()
    sent = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=agent,
        json={"media": {"upload_id": uploaded["id"], "caption": "This one"}},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    message = sent.json()
    assert message["type"] == "image" and message["text"] == "This one"
    assert message["media"]["state"] == "stored" and message["media"]["url"]
    own = await client.get(message["media"]["url"], headers=agent)
    assert own.content == photo

    async def received() -> list[dict[str, Any]]:
        items = (await client.get("/sandbox/api/messages", params={"wa_id": wa_id})).json()
        return [item for item in items if item["type"] == "image"]

    phone = (await eventually(received, what="image at the phone"))[0]
    assert phone["body"]["image"]["caption"] == "This one"
    media_id = phone["body"]["image"]["id"]
    shown = await client.get(f"/sandbox/api/media/{media_id}")
    assert shown.status_code == 200 and shown.content == photo
    assert shown.headers["content-type"] == "image/png"


async def test_the_worker_uploads_once_then_sends_by_id_also_on_retry(
    client: httpx.AsyncClient, agent: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Any,
) -> None:  # fmt: skip
    wa_id = new_wa_id()
    webhook = text_message_webhook(PHONE_NUMBER_ID, wa_id, "Rita", "Please send the invoice")
    assert (
        await post_webhook(client, json.loads(json.dumps(webhook)), APP_SECRET)
    ).status_code == 200
    conversation_id = await _held(client, agent, wa_id)
    uploaded = (await upload(client, agent, "invoice-42.pdf", PDF, "application/pdf")).json()
    graph.send_failures.append(131000)  # the first send fails with a retryable error
    sent = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=agent,
        json={"media": {"upload_id": uploaded["id"], "caption": "Your invoice"}},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text

    def sends_to_customer() -> list[dict[str, Any]]:
        return [s for s in graph.sends if s.get("to") == wa_id and s.get("type") == "document"]

    async def twice() -> bool:
        return len(sends_to_customer()) >= 2

    await eventually(twice, what="a failed send and its retry")
    uploads = [u for u in graph.uploads if u["data"] == PDF and u["filename"] == "invoice-42.pdf"]
    assert len(uploads) == 1, "the retry must reuse the media id, not upload again"
    assert uploads[0]["messaging_product"] == "whatsapp" and uploads[0]["type"] == "application/pdf"
    assert uploads[0]["phone_number_id"] == PHONE_NUMBER_ID
    first, second = sends_to_customer()[:2]
    assert first["document"] == second["document"] == {
        "id": uploads[0]["id"], "caption": "Your invoice", "filename": "invoice-42.pdf",
    }  # fmt: skip

    async def sent_status() -> bool:
        items = (
            await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=agent)
        ).json()["items"]
        return any(m["id"] == sent.json()["id"] and m["status"] == "sent" for m in items)

    await eventually(sent_status, what="the document sent")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"media": {"upload_id": 987654321}}, "no upload with id"),
        ({"media": {}}, "upload_id"),
        ({"media": {"upload_id": "x"}}, "upload_id"),
        ({"media": {"upload_id": 1}, "text": "and text"}, "exactly one"),
    ],
)
async def test_bad_media_replies_are_422(
    client: httpx.AsyncClient, agent: dict[str, str], body: dict[str, Any], reason: str
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hi")
    conversation_id = await _held(client, agent, wa_id)
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=agent, json=body
    )
    assert response.status_code == 422 and reason in response.json()["detail"]


async def test_a_caption_on_a_voice_note_is_refused(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hi")
    conversation_id = await _held(client, agent, wa_id)
    voice = (await upload(client, agent, "v.ogg", ogg_opus(1.0))).json()
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=agent,
        json={"media": {"upload_id": voice["id"], "caption": "listen"}},
    )  # fmt: skip
    assert response.status_code == 422 and "no caption" in response.json()["detail"]
