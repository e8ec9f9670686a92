"""POST /webhooks/whatsapp over real HTTP: every message of a batch exactly once, signed or refused."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.channels.sandbox.webhooks import new_wamid, status_webhook, text_message_webhook
from backend.conversations.ingest import apply_pending_statuses
from backend.conversations.models import Message
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.whatsapp import (
    CHANNEL,
    customer_says,
    find_conversation,
    new_wa_id,
    post_webhook,
)

FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "fixtures" / "pywa"


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


async def messages_of(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers
    )
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_text_message_opens_a_queued_conversation(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    wamid = await customer_says(client, wa_id, "Where is my order?", name="Zoë Ünal")
    conversation = await find_conversation(client, lead_headers, wa_id)
    assert conversation["status"] == "queued"
    assert conversation["team"] == "General"
    assert conversation["contact"] == {
        "wa_id": wa_id,
        "user_id": None,
        "username": None,
        "name": "Zoë Ünal",
        "id": conversation["contact"]["id"],
        "language": None,
    }
    assert conversation["last_message"]["text"] == "Where is my order?"
    assert conversation["window_expires_at"] is not None
    [message] = await messages_of(client, lead_headers, conversation["id"])
    assert message | {"id": 0, "created_at": ""} == message | {
        "id": 0, "created_at": "", "direction": "inbound", "sender": "customer", "type": "text",
        "text": "Where is my order?", "status": "received", "provider_message_id": wamid, "error": None,
    }  # fmt: skip
    assert message["created_at"].endswith("+00:00")


def _batch(wa_ids: list[str]) -> dict[str, Any]:
    """Two entries, each with two changes, each with two messages and a status: 8 messages."""
    body: dict[str, Any] = {"object": "whatsapp_business_account", "entry": []}
    n = 0
    for entry_index in range(2):
        entry: dict[str, Any] = {"id": f"waba-{entry_index}", "changes": []}
        for _ in range(2):
            messages = []
            for _ in range(2):
                n += 1
                messages.append({"from": wa_ids[n % len(wa_ids)], "id": new_wamid(), "timestamp": str(1_700_000_000 + n),
                                 "type": "text", "text": {"body": f"batch message {n}"}})  # fmt: skip
            entry["changes"].append({"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": CHANNEL},
                "contacts": [{"profile": {"name": f"Batch {w[-4:]}"}, "wa_id": w} for w in wa_ids],
                "messages": messages,
                "statuses": [{"id": new_wamid(), "status": "delivered", "recipient_id": wa_ids[0], "timestamp": "1700000000"}],
            }})  # fmt: skip
        body["entry"].append(entry)
    return body


async def test_every_message_of_a_batch_is_stored(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_ids = [new_wa_id(), new_wa_id(), new_wa_id()]
    response = await post_webhook(client, _batch(wa_ids))
    assert response.status_code == 200
    assert response.json()["messages"] == 8 and response.json()["statuses"] == 4
    texts = []
    for wa_id in wa_ids:
        conversation = await find_conversation(client, lead_headers, wa_id)
        texts += [m["text"] for m in await messages_of(client, lead_headers, conversation["id"])]
    assert sorted(texts) == sorted(f"batch message {n}" for n in range(1, 9))


async def test_duplicates_are_stored_once_even_when_racing(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    body = text_message_webhook(CHANNEL, wa_id, "Dup", "only once")
    responses = await asyncio.gather(*(post_webhook(client, body) for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert sum(r.json()["messages"] for r in responses) == 1
    assert sum(r.json()["duplicates"] for r in responses) == 7
    conversation = await find_conversation(client, lead_headers, wa_id)
    assert len(await messages_of(client, lead_headers, conversation["id"])) == 1
    again = await post_webhook(client, body)
    assert again.json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401), ({"X-Hub-Signature-256": "md5=abc"}, 401),
     ({"X-Hub-Signature-256": "sha256=not-hex"}, 401)],
)  # fmt: skip
async def test_unsigned_or_wrongly_signed_webhooks_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str], expected: int
) -> None:
    raw = json.dumps(text_message_webhook(CHANNEL, new_wa_id(), "X", "hi")).encode()
    response = await client.post(
        "/webhooks/whatsapp", content=raw, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == expected
    assert response.json()["detail"]


async def test_a_body_signed_with_another_secret_is_refused(client: httpx.AsyncClient) -> None:
    response = await post_webhook(
        client, text_message_webhook(CHANNEL, new_wa_id(), "X", "hi"), secret="other-secret"
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"object": "whatsapp_business_account", "entry": [', "JSON"),
        (json.dumps({"object": "page", "entry": []}).encode(), "object"),
        (json.dumps({"object": "whatsapp_business_account"}).encode(), "entry"),
        (b"[1, 2, 3]", ""),
    ],
)
async def test_a_signed_body_that_is_not_a_webhook_is_400_with_a_reason(
    client: httpx.AsyncClient, raw: bytes, reason: str
) -> None:
    response = await post_webhook(client, raw)
    assert response.status_code == 400
    assert reason.lower() in response.json()["detail"].lower()


async def test_an_unknown_phone_number_id_is_refused(client: httpx.AsyncClient) -> None:
    response = await post_webhook(client, text_message_webhook("000111222", new_wa_id(), "X", "hi"))
    assert response.status_code == 401
    assert "000111222" in response.json()["detail"]


async def test_an_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = text_message_webhook(CHANNEL, new_wa_id(), "X", "x" * (4 * 1024 * 1024 + 10))
    response = await post_webhook(client, body)
    assert response.status_code == 413


async def test_verification_handshake(client: httpx.AsyncClient) -> None:
    ok = await client.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "sandbox-verify",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    bad = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status_code == 403


async def test_a_message_after_resolution_opens_a_new_conversation(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "first")
    first = await find_conversation(client, lead_headers, wa_id)
    assert (
        await client.post(f"/api/v1/conversations/{first['id']}/claim", headers=lead_headers)
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/conversations/{first['id']}/resolve", headers=lead_headers)
    ).status_code == 200
    await customer_says(client, wa_id, "second")
    second = await find_conversation(client, lead_headers, wa_id)
    assert second["id"] != first["id"] and second["status"] == "queued"
    old = (await client.get(f"/api/v1/conversations/{first['id']}", headers=lead_headers)).json()
    assert old["status"] == "resolved"
    assert [m["text"] for m in await messages_of(client, lead_headers, first["id"])] == ["first"]


async def _outbound(
    ctx: AppContext, client: httpx.AsyncClient, headers: dict[str, str], wamid: str | None
) -> Message:
    """An outbound message as the worker leaves it after a send (without running a worker)."""
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hello")
    conversation = await find_conversation(client, headers, wa_id)
    async with ctx.sessions() as session:
        message = Message(conversation_id=conversation["id"], channel_id=conversation["channel_id"], direction="outbound",
                          sender="agent", type="text", text="reply", payload={"body": "reply"}, status="sent",
                          provider_message_id=wamid)  # fmt: skip
        session.add(message)
        await session.commit()
        return message


async def test_statuses_only_move_forward(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wamid = new_wamid()
    message = await _outbound(ctx, client, lead_headers, wamid)
    for status in ("read", "delivered", "sent"):
        assert (
            await post_webhook(client, status_webhook(CHANNEL, wamid, status, "491"))
        ).status_code == 200
    async with ctx.sessions() as session:
        assert (await session.get(Message, message.id)).status == "read"  # type: ignore[union-attr]


async def test_a_failed_status_keeps_its_error(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wamid = new_wamid()
    message = await _outbound(ctx, client, lead_headers, wamid)
    error = {"code": 131026, "title": "Message undeliverable"}
    await post_webhook(client, status_webhook(CHANNEL, wamid, "failed", "491", error=error))
    messages = await messages_of(client, lead_headers, message.conversation_id)
    assert messages[-1]["status"] == "failed"
    assert messages[-1]["error"] == {"code": 131026, "title": "Message undeliverable"}


async def test_a_status_for_an_unknown_message_waits_for_it(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wamid = new_wamid()
    await post_webhook(client, status_webhook(CHANNEL, wamid, "delivered", "491"))
    message = await _outbound(ctx, client, lead_headers, None)
    async with ctx.sessions() as session:
        stored = await session.get(Message, message.id)
        assert stored is not None
        stored.provider_message_id = wamid
        await session.flush()
        assert await apply_pending_statuses(session, stored.channel_id, wamid) == 1
        await session.commit()
        assert stored.status == "delivered"


def _retarget(body: dict[str, Any], wa_id: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for entry in body.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            value.setdefault("metadata", {})["phone_number_id"] = CHANNEL
            for message in value.get("messages", []):
                message["from"], message["id"] = wa_id, new_wamid()
            for contact in value.get("contacts", []):
                contact["wa_id"] = wa_id
                if "user_id" in contact:  # the fixtures share one BSUID: one per customer here
                    contact["user_id"] = f"DE.{wa_id}"
    return body


async def test_every_real_message_fixture_is_stored_with_its_type(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    cases = json.loads((FIXTURES / "message.json").read_text())
    cases |= {
        f"callback_{k}": v
        for k, v in json.loads((FIXTURES / "callback_button.json").read_text()).items()
    }
    cases |= {
        f"selection_{k}": v
        for k, v in json.loads((FIXTURES / "callback_selection.json").read_text()).items()
    }
    seen_types = set()
    for name, body in cases.items():
        wa_id = new_wa_id()
        response = await post_webhook(client, _retarget(body, wa_id))
        assert response.status_code == 200, (name, response.text)
        assert response.json()["messages"] >= 1, name
        conversation = await find_conversation(client, lead_headers, wa_id)
        [message] = await messages_of(client, lead_headers, conversation["id"])
        seen_types.add(message["type"])
        assert message["payload"], name
        if message["type"] == "interactive":
            reply = (
                message["payload"].get("button_reply")
                or message["payload"].get("list_reply")
                or message["payload"].get("nfm_reply")
            )
            assert reply and (reply.get("id") or reply.get("response_json")), name
    assert {
        "text",
        "image",
        "document",
        "audio",
        "video",
        "location",
        "sticker",
        "reaction",
        "interactive",
        "button",
    } <= seen_types
