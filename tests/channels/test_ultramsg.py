"""Ultramsg: sending over real HTTP to a stand-in of its API, and its webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.channels.base import OutboundRequest, SendError, WebhookError
from backend.channels.ultramsg.provider import UltramsgProvider
from backend.channels.ultramsg.webhook import parse_webhook
from backend.core.embedded_redis import free_port
from tests.support.ultramsg_standin import INSTANCE, TOKEN, UltramsgStandin, start_ultramsg_standin


@pytest.fixture(scope="module")
def standin() -> Iterator[UltramsgStandin]:
    live = start_ultramsg_standin()
    yield live
    live.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def provider(
    standin: UltramsgStandin, http: httpx.AsyncClient, token: str = TOKEN
) -> UltramsgProvider:
    return UltramsgProvider(INSTANCE, token, http, base_url=standin.base_url)


async def test_send_text_returns_ultramsgs_id_and_posts_its_form_fields(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    request = OutboundRequest("4915112345678", "text", {"body": "Hallo Jäger"}, "wamid.quoted")
    message_id = await provider(standin, http).send(request, idempotency_key="key-1")
    assert message_id == str(len(standin.received))
    assert standin.received[-1] == {
        "kind": "chat", "token": TOKEN, "to": "4915112345678", "body": "Hallo Jäger",
        "msgId": "wamid.quoted", "referenceId": "key-1",
    }  # fmt: skip


async def test_send_image_and_document_by_link(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    ultramsg = provider(standin, http)
    image = OutboundRequest(
        "4915112345678", "image", {"link": "https://x.test/a.jpg", "caption": "A"}
    )
    await ultramsg.send(image, idempotency_key="key-2")
    assert standin.received[-1]["kind"] == "image"
    assert (standin.received[-1]["image"], standin.received[-1]["caption"]) == (
        "https://x.test/a.jpg",
        "A",
    )
    document = OutboundRequest(
        "4915112345678", "document", {"link": "https://x.test/b.pdf", "filename": "b.pdf"}
    )
    await ultramsg.send(document, idempotency_key="key-3")
    assert standin.received[-1]["kind"] == "document"
    assert (standin.received[-1]["document"], standin.received[-1]["filename"]) == (
        "https://x.test/b.pdf",
        "b.pdf",
    )


async def test_errors_in_a_200_body_are_permanent(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    text = OutboundRequest("4915112345678", "text", {"body": "hi"})
    with pytest.raises(SendError) as wrong_token:
        await provider(standin, http, token="nope").send(text, idempotency_key="k")
    assert not wrong_token.value.retryable and "Wrong token" in wrong_token.value.title
    with pytest.raises(SendError) as bad_number:
        await provider(standin, http).send(
            OutboundRequest("not-a-number", "text", {"body": "hi"}), idempotency_key="k"
        )
    assert not bad_number.value.retryable and bad_number.value.title == "to: invalid phone number"


async def test_server_errors_and_throttling_are_retryable(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    text = OutboundRequest("4915112345678", "text", {"body": "hi"})
    standin.fail_next.extend([503, 429])
    for status in (503, 429):
        with pytest.raises(SendError) as failed:
            await provider(standin, http).send(text, idempotency_key="k")
        assert failed.value.retryable and failed.value.details["http_status"] == status
    assert await provider(standin, http).send(text, idempotency_key="k")


async def test_unreachable_ultramsg_is_retryable(http: httpx.AsyncClient) -> None:
    ultramsg = UltramsgProvider(INSTANCE, TOKEN, http, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SendError) as failed:
        await ultramsg.send(
            OutboundRequest("4915112345678", "text", {"body": "hi"}), idempotency_key="k"
        )
    assert failed.value.retryable and failed.value.code is None


async def test_what_ultramsg_cannot_send_is_refused_before_any_request(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    before = len(standin.received)
    buttons = {"type": "button", "body": {"text": "?"}, "action": {"buttons": []}}
    for request in (
        OutboundRequest("4915112345678", "interactive", buttons),
        OutboundRequest("4915112345678", "template", {"name": "t", "language": {"code": "en"}}),
        OutboundRequest("4915112345678", "image", {"id": "cloud-media-id"}),
    ):
        with pytest.raises(SendError) as refused:
            await provider(standin, http).send(request, idempotency_key="k")
        assert not refused.value.retryable
    assert len(standin.received) == before


async def test_mark_read_marks_the_chat_the_message_came_from(
    standin: UltramsgStandin, http: httpx.AsyncClient
) -> None:
    await provider(standin, http).mark_read("false_4915112345678@c.us_3EB0C767D097B7D4E2B4")
    assert standin.read_chats[-1] == "4915112345678@c.us"
    await provider(standin, http).mark_read("17")  # one of our own ids: no chat to mark
    assert len(standin.read_chats) == 1
    with pytest.raises(SendError):
        await provider(standin, http, token="nope").mark_read("false_4915112345678@c.us_3EB0")


def event(event_type: str, top_id: str = "", **data: Any) -> bytes:
    base = {"id": "false_4915112345678@c.us_3EB0C767D097B7D4E2B4", "from": "4915112345678@c.us",
            "to": "4930111111@c.us", "pushname": "Anna", "type": "chat", "body": "Hallo",
            "fromMe": False, "time": 1700000000, "ack": "", "media": "", "quotedMsg": {}}  # fmt: skip
    return json.dumps({"event_type": event_type, "instanceId": "1150", "id": top_id,
                       "referenceId": "", "data": {**base, **data}}).encode()  # fmt: skip


def test_a_received_text_becomes_an_inbound_message() -> None:
    batch = parse_webhook(event("message_received"), "ultramsg-1150")
    (message,) = batch.messages
    assert batch.phone_number_ids == {"ultramsg-1150"} and not batch.statuses
    assert (message.type, message.text, message.wa_id, message.contact_name) == (
        "text",
        "Hallo",
        "4915112345678",
        "Anna",
    )
    assert message.provider_message_id == "false_4915112345678@c.us_3EB0C767D097B7D4E2B4"
    assert message.timestamp == datetime.fromtimestamp(1700000000, UTC)
    assert message.reply_to_provider_id is None


def test_media_and_quoted_replies() -> None:
    raw = event("message_received", type="image", body="look", media="https://cdn.test/1.jpg",
                quotedMsg={"id": "true_4930111111@c.us_ABC"})  # fmt: skip
    (message,) = parse_webhook(raw, "u").messages
    assert (message.type, message.text, message.payload["link"]) == (
        "image",
        "look",
        "https://cdn.test/1.jpg",
    )
    assert message.reply_to_provider_id == "true_4930111111@c.us_ABC"
    (voice,) = parse_webhook(event("message_received", type="ptt", body=""), "u").messages
    assert voice.type == "audio"
    (odd,) = parse_webhook(event("message_received", type="poll_creation"), "u").messages
    assert odd.type == "unsupported"


def test_own_echoes_groups_and_other_events_are_ignored() -> None:
    for raw in (
        event("message_received", fromMe=True),
        event("message_received", **{"from": "120363041234567890@g.us"}),
        event("message_create"),
        event("message_ack", ack="pending"),
    ):
        batch = parse_webhook(raw, "u")
        assert not batch.messages and not batch.statuses


@pytest.mark.parametrize(
    ("ack", "status"),
    [("server", "sent"), ("device", "delivered"), ("read", "read"), ("played", "played")],
)
def test_acks_become_statuses_for_the_id_our_send_got(ack: str, status: str) -> None:
    (update,) = parse_webhook(event("message_ack", top_id="42", ack=ack, fromMe=True), "u").statuses
    assert (update.provider_message_id, update.status, update.recipient_id) == (
        "42",
        status,
        "4930111111",
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"{not json", "invalid JSON"), (b"[]", "data object"), (b'{"event_type": "message_received"}', "data object"),
     (event("message_received", time="later"), "time"), (event("message_received", id=""), "id")],
)  # fmt: skip
def test_malformed_bodies_are_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(WebhookError, match=reason):
        parse_webhook(raw, "u")
