"""Every inbound file is fetched at once, checked, stored, and served only to who may see it."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest

from backend.channels.models import Channel
from backend.config import Settings
from tests.conftest import login
from tests.media.conftest import customer_sends, media_state, message_by_wamid, new_media_id
from tests.support.graph_media_standin import GraphMediaStandin
from tests.support.media_samples import JPEG, MP4, PDF, WEBP, ogg_opus, png
from tests.support.servers import LiveWorker

CASES = [
    # pywa case, the bytes Meta holds, their type, the kind, what the inbox gets as filename
    ("image", png(), "image/jpeg", "image"),
    ("media_with_url", JPEG, "image/jpeg", "image"),
    ("video", MP4, "video/mp4", "video"),
    ("document", PDF, "application/pdf", "document"),
    ("audio", ogg_opus(1.0), "audio/ogg; codecs=opus", "audio"),
    ("voice", ogg_opus(3.0), "audio/ogg; codecs=opus", "audio"),
    ("static_sticker", WEBP, "image/webp", "sticker"),
    ("animated_sticker", WEBP, "image/webp", "sticker"),
]


@pytest.fixture
async def lead(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


@pytest.mark.parametrize(("case", "data", "mime", "kind"), CASES, ids=[c[0] for c in CASES])
async def test_every_media_type_is_fetched_stored_and_served(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel, case: str, data: bytes, mime: str, kind: str,
) -> None:  # fmt: skip
    media_id = new_media_id()
    graph.add(media_id, data, mime)
    message = await customer_sends(client, lead, case, media_id)
    assert message["type"] == kind and message["media"]["kind"] == kind
    assert message["media"]["state"] in ("pending", "stored")
    stored = await media_state(client, lead, message, "stored", "failed")
    media = stored["media"]
    assert media["state"] == "stored", media
    assert media["sha256"] == hashlib.sha256(data).hexdigest() and media["size"] == len(data)
    assert media["url"] == f"/api/v1/messages/{message['id']}/media"
    assert media["voice"] is (case == "voice")
    served = await client.get(media["url"], headers=lead)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"].startswith(mime.split(";")[0])
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "sandbox"
    assert served.headers["accept-ranges"] == "bytes"
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("inline;") and "filename=" in disposition
    if case == "document":
        assert media["filename"] == "filename.pdf" and media["caption"] == "caption"
        assert 'filename="filename.pdf"' in disposition


async def test_range_requests_serve_parts_for_seeking(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel,
) -> None:  # fmt: skip
    data = ogg_opus(4.0)
    media_id = new_media_id()
    graph.add(media_id, data, "audio/ogg; codecs=opus")
    message = await customer_sends(client, lead, "voice", media_id)
    url = (await media_state(client, lead, message, "stored"))["media"]["url"]
    size = len(data)

    part = await client.get(url, headers={**lead, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    assert part.headers["content-length"] == "10"
    tail = await client.get(url, headers={**lead, "Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == data[-7:]
    rest = await client.get(url, headers={**lead, "Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.content == data[100:]
    beyond = await client.get(url, headers={**lead, "Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"


async def test_an_agent_who_may_not_see_the_conversation_gets_404(
    client: httpx.AsyncClient, lead: dict[str, str], make_agent: Any, worker: LiveWorker,
    graph: GraphMediaStandin, standin_channel: Channel,
) -> None:  # fmt: skip
    media_id = new_media_id()
    graph.add(media_id, png(), "image/png")
    message = await customer_sends(client, lead, "image", media_id)
    url = (await media_state(client, lead, message, "stored"))["media"]["url"]
    outsider = await login(client, await make_agent("agent", teams=["Billing"]))
    member = await login(client, await make_agent("agent", teams=["General"]))
    assert (await client.get(url, headers=outsider)).status_code == 404
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
    assert (await client.get(url, headers=member)).status_code == 200
    missing = await client.get("/api/v1/messages/999999999/media", headers=member)
    assert missing.status_code == 404


async def test_an_expired_url_is_fetched_again(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel,
) -> None:  # fmt: skip
    media_id = new_media_id()
    graph.add(media_id, PDF, "application/pdf", expired_urls=1)
    message = await customer_sends(client, lead, "document", media_id)
    stored = await media_state(client, lead, message, "stored", "failed")
    assert stored["media"]["state"] == "stored"
    assert graph.media_lookups.count(media_id) == 2  # the first URL had expired
    assert stored["media"]["error"] is None


async def test_a_download_failing_then_succeeding_is_stored(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel,
) -> None:  # fmt: skip
    media_id = new_media_id()
    graph.add(media_id, JPEG, "image/jpeg", failures=[500, 503])
    message = await customer_sends(client, lead, "image", media_id)
    stored = await media_state(client, lead, message, "stored", "failed")
    assert stored["media"]["state"] == "stored"
    assert graph.downloads.count(media_id) == 3


async def test_a_download_that_hangs_is_cut_at_its_limit_and_tried_again(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel, settings: Settings,
) -> None:  # fmt: skip
    media_id = new_media_id()
    hang = settings.media_download_timeout_seconds * 3
    graph.add(media_id, JPEG, "image/jpeg", stalls=[hang])
    message = await customer_sends(client, lead, "image", media_id)
    stored = await media_state(client, lead, message, "stored", "failed")
    # The first try was cut at MEDIA_DOWNLOAD_TIMEOUT_SECONDS and counted; the second one fetched it.
    assert stored["media"]["state"] == "stored", stored["media"]
    assert graph.downloads.count(media_id) == 2


async def test_a_sha256_mismatch_fails_visibly_and_retry_fetches_it(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel,
) -> None:  # fmt: skip
    media_id = new_media_id()
    wrong = base64.b64encode(hashlib.sha256(b"another file").digest()).decode()
    file = graph.add(media_id, png(), "image/png", sha256=wrong)
    message = await customer_sends(client, lead, "image", media_id)
    failed = await media_state(client, lead, message, "failed")
    assert "sha256 mismatch" in failed["media"]["error"] and failed["media"]["url"] is None
    assert (
        await client.get(f"/api/v1/messages/{message['id']}/media", headers=lead)
    ).status_code == 404

    file.sha256 = None  # Meta's copy is right again
    retried = await client.post(f"/api/v1/messages/{message['id']}/media/retry", headers=lead)
    assert retried.status_code == 202 and retried.json()["media"]["state"] == "pending"
    stored = await media_state(client, lead, message, "stored")
    assert stored["media"]["error"] is None
    again = await client.post(f"/api/v1/messages/{message['id']}/media/retry", headers=lead)
    assert again.status_code == 409


async def test_a_file_meta_no_longer_has_fails_at_once_with_a_retry(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker, graph: GraphMediaStandin,
    standin_channel: Channel,
) -> None:  # fmt: skip
    media_id = new_media_id()  # never added: Meta answers error 100
    message = await customer_sends(client, lead, "video", media_id)
    failed = await media_state(client, lead, message, "failed")
    assert "no longer available" in failed["media"]["error"]
    assert graph.media_lookups.count(media_id) == 1  # permanent: not retried on its own

    graph.add(media_id, MP4, "video/mp4")
    retried = await client.post(f"/api/v1/messages/{message['id']}/retry", headers=lead)
    assert retried.status_code == 202
    assert (await media_state(client, lead, message, "stored"))["media"]["kind"] == "video"


async def test_the_sandbox_phone_sends_a_photo_and_a_voice_note(
    client: httpx.AsyncClient, lead: dict[str, str], worker: LiveWorker
) -> None:
    from tests.support.whatsapp import new_wa_id

    wa_id = new_wa_id()
    photo, voice = png(32, 16), ogg_opus(2.0)
    for media in (
        {"type": "image", "mime_type": "image/png", "data": base64.b64encode(photo).decode(),
         "caption": "the broken parcel"},
        {"type": "audio", "mime_type": "audio/ogg; codecs=opus",
         "data": base64.b64encode(voice).decode(), "voice": True},
    ):  # fmt: skip
        sent = await client.post(
            "/sandbox/api/inbound", json={"from": wa_id, "name": "Paula", "media": media}
        )
        assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text
        wamid = sent.json()["message_id"]
        message = await message_by_wamid(client, lead, wa_id, wamid)
        stored = (await media_state(client, lead, message, "stored", "failed"))["media"]
        assert stored["state"] == "stored", stored
        served = await client.get(stored["url"], headers=lead)
        assert served.content == (photo if media["type"] == "image" else voice)
    assert stored["voice"] is True
    assert message["text"] is None


async def test_the_sandbox_media_object_and_url_need_the_token_and_expire(
    client: httpx.AsyncClient, lead: dict[str, str], app_settings: Settings
) -> None:
    from backend.channels.sandbox.media import download_url
    from tests.support.whatsapp import new_wa_id

    wa_id = new_wa_id()
    sent = await client.post("/sandbox/api/inbound", json={
        "from": wa_id, "name": "Paula",
        "media": {"type": "document", "mime_type": "application/pdf",
                  "data": base64.b64encode(PDF).decode(), "filename": "invoice.pdf"}})  # fmt: skip
    assert sent.status_code == 200
    message = await message_by_wamid(client, lead, wa_id, sent.json()["message_id"])
    media_id = message["payload"]["id"]
    assert message["payload"]["filename"] == "invoice.pdf"
    token = {"Authorization": "Bearer sandbox-token"}

    assert (await client.get(f"/sandbox/graph/v23.0/{media_id}")).status_code == 401
    unknown = await client.get("/sandbox/graph/v23.0/123", headers=token)
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    media = (await client.get(f"/sandbox/graph/v23.0/{media_id}", headers=token)).json()
    assert media["id"] == media_id and media["mime_type"] == "application/pdf"
    assert media["file_size"] == str(len(PDF))
    assert media["sha256"] == base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    assert (await client.get(media["url"])).status_code == 401
    assert (await client.get(media["url"], headers=token)).content == PDF
    expired = download_url(
        client.base_url.__str__().rstrip("/"), app_settings.signing_key(), media_id, -1
    )
    assert (await client.get(expired, headers=token)).status_code == 404


@pytest.mark.parametrize(
    ("media", "status"),
    [
        ({"type": "image", "mime_type": "image/png", "data": "not base64!"}, 422),
        ({"type": "hologram", "mime_type": "image/png", "data": "AAAA"}, 422),
        ({"type": "image", "mime_type": "png", "data": "AAAA"}, 422),
        ({"type": "image", "mime_type": "image/png", "data": ""}, 422),
        ("a photo", 422),
    ],
)
async def test_bad_sandbox_media_is_422(client: httpx.AsyncClient, media: Any, status: int) -> None:
    response = await client.post(
        "/sandbox/api/inbound", json={"from": "4915100000002", "name": "P", "media": media}
    )
    assert response.status_code == status, response.text


async def test_an_ultramsg_link_that_is_not_https_fails_visibly(
    client: httpx.AsyncClient, lead: dict[str, str], make_agent: Any, worker: LiveWorker
) -> None:
    """Ultramsg names files by link: only https is fetched (a webhook must never make the worker
    reach into this machine's network); anything else is a visible failure, not a silent skip."""
    import json as _json

    from tests.conversations.test_channels_ultramsg import ultramsg_event
    from tests.support.ultramsg_standin import INSTANCE, TOKEN
    from tests.support.whatsapp import new_wa_id

    admin = await login(client, await make_agent("admin"))
    listed = (await client.get("/api/v1/channels", headers=admin)).json()["items"]
    channel = next((c for c in listed if c["phone_number_id"] == INSTANCE), None)
    if channel is None:
        created = await client.post("/api/v1/channels", headers=admin, json={
            "name": "Ultramsg", "provider": "ultramsg", "phone_number_id": INSTANCE,
            "access_token": TOKEN, "default_team": "General"})  # fmt: skip
        assert created.status_code == 201, created.text
        channel = created.json()
    path = "/" + channel["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    wa_id = new_wa_id()
    event = ultramsg_event("message_received", **{
        "from": f"{wa_id}@c.us", "type": "ptt", "body": "", "media": "http://127.0.0.1:9/voice.ogg"})  # fmt: skip
    stored = await client.post(
        path, content=_json.dumps(event).encode(), headers={"Content-Type": "application/json"}
    )
    assert stored.status_code == 200, stored.text
    message = await message_by_wamid(client, lead, wa_id, event["data"]["id"])
    failed = (await media_state(client, lead, message, "failed"))["media"]
    assert "not https" in failed["error"] and failed["voice"] is True
