"""The WhatsApp sandbox: Cloud API validation, the send endpoint over real HTTP through
`CloudApiProvider`, receipts, fault injection, customer messages and the phone page."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.channels.base import OutboundRequest, SendError
from backend.channels.sandbox.store import PREFIX
from backend.channels.sandbox.validation import validate_send
from backend.channels.sandbox.webhooks import (
    interactive_reply_webhook,
    signed_post_headers,
    status_webhook,
    text_message_webhook,
)
from backend.channels.whatsapp.cloud_api import CloudApiProvider, build_http_client
from backend.channels.whatsapp.signature import verify
from backend.channels.whatsapp.webhook import parse_webhook
from backend.config import Settings
from backend.core.context import AppContext


def wa_id(prefix: str = "4917") -> str:
    return prefix + "".join(secrets.choice("0123456789") for _ in range(8))


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "type": "button", "body": {"text": "How can we help?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": f"b{n}", "title": t}}
                               for n, t in enumerate(titles)]},
    }  # fmt: skip


def a_list(*sections: list[dict[str, Any]], button: str = "Topics") -> dict[str, Any]:
    return {
        "type": "list", "body": {"text": "Pick a topic"},
        "action": {"button": button, "sections": [{"title": f"S{n}", "rows": rows}
                                                  for n, rows in enumerate(sections)]},
    }  # fmt: skip


def rows(count: int, start: int = 0, **override: Any) -> list[dict[str, Any]]:
    return [{"id": f"r{n}", "title": f"Row {n}", "description": "d", **override}
            for n in range(start, start + count)]  # fmt: skip


def send(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678",
            "type": kind, kind: content, **extra}  # fmt: skip


VALID = [
    send("text", {"body": "x" * 4096}),
    send("text", {"body": "hi"}, context={"message_id": "wamid.abc"}),
    send("interactive", buttons("Yes", "No", "x" * 20)),
    send("interactive", a_list(rows(5), rows(5, start=5))),
    send("interactive", a_list(rows(1, title="t" * 24, description="d" * 72, id="i" * 200))),
    send("template", {"name": "csat", "language": {"code": "en_US"}}),
    send("image", {"link": "https://x.test/a.jpg", "caption": "c"}),
    send("reaction", {"message_id": "wamid.abc", "emoji": "👍"}),
    send("location", {"latitude": 52.5, "longitude": 13.4}),
]


@pytest.mark.parametrize("body", VALID)
def test_what_the_cloud_api_accepts_passes(body: dict[str, Any]) -> None:
    assert validate_send(body) is None


REJECTED = [
    (send("interactive", buttons("A", "B", "C", "D")), 131009, "Max count: 3"),
    (send("interactive", buttons("x" * 21)), 131009, "Button title length invalid. Min length: 1, Max length: 20"),
    (send("interactive", buttons("")), 131009, "Button title"),
    (send("interactive", buttons("Same", "Same")), 131009, "unique"),
    (send("interactive", {**buttons("A"), "action": {"buttons": [{"type": "reply", "reply": {"id": "i" * 257, "title": "A"}}]}}), 131009, "Button id"),
    (send("interactive", {**buttons("A"), "action": {"buttons": []}}), 100, "buttons"),
    (send("interactive", a_list(rows(6), rows(5, start=6))), 131009, "Total row count exceed max allowed count: 10"),
    (send("interactive", a_list(rows(11))), 131009, "Total row count exceed max allowed count: 10"),
    (send("interactive", a_list(rows(1, title="t" * 25))), 131009, "Row title is too long. Max length is 24"),
    (send("interactive", a_list(rows(1, description="d" * 73))), 131009, "Row description is too long. Max length is 72"),
    (send("interactive", a_list(rows(1, id="i" * 201))), 131009, "Row id is too long. Max length is 200"),
    (send("interactive", a_list(rows(2, id="same"))), 131009, "unique"),
    (send("interactive", a_list(rows(1), button="b" * 21)), 131009, "Button text length invalid"),
    (send("interactive", a_list(*[rows(1, start=n) for n in range(11)])), 131009, "Max count: 10"),
    (send("interactive", {**a_list(rows(1)), "action": {"button": "B", "sections": []}}), 100, "sections"),
    (send("interactive", {**buttons("A"), "body": {"text": "b" * 1025}}), 131009, "Body text length invalid"),
    (send("interactive", {**buttons("A"), "body": None}), 100, "interactive['body']"),
    (send("interactive", {**buttons("A"), "header": {"type": "text", "text": "h" * 61}}), 131009, "Header text"),
    (send("interactive", {**buttons("A"), "footer": {"text": "f" * 61}}), 131009, "Footer text"),
    (send("interactive", {**buttons("A"), "type": "carousel-ish"}), 100, "interactive['type']"),
    (send("text", {"body": "x" * 4097}), 100, "Param text['body'] must be at most 4096 characters long."),
    (send("text", {"body": ""}), 100, "text['body'] is required"),
    (send("text", {}), 100, "text['body'] is required"),
    ({**send("text", {"body": "hi"}), "text": None}, 100, "The parameter text is required."),
    ({k: v for k, v in send("text", {"body": "hi"}).items() if k != "messaging_product"}, 100, "messaging_product is required"),
    (send("text", {"body": "hi"}, messaging_product="sms"), 100, "messaging_product must be one of"),
    ({k: v for k, v in send("text", {"body": "hi"}).items() if k != "to"}, 100, "The parameter to is required."),
    (send("carrier_pigeon", {"body": "hi"}), 100, "Param type must be one of"),
    (send("text", {"body": "hi"}, context={"id": "wamid.x"}), 100, "context['message_id']"),
    (send("template", {"language": {"code": "en"}}), 100, "template['name']"),
    (send("template", {"name": "csat", "language": {}}), 100, "template['language']['code']"),
    (send("image", {"caption": "no media"}), 100, "either id or link"),
    (send("reaction", {"emoji": "👍"}), 100, "reaction['message_id']"),
    ([1, 2], 100, "JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "details"), REJECTED)
def test_what_the_cloud_api_rejects_fails_with_its_code(body: Any, code: int, details: str) -> None:
    error = validate_send(body)
    assert error is not None
    assert error["error"]["code"] == code
    assert details in error["error"]["error_data"]["details"]
    assert error["error"]["type"] == "OAuthException"
    assert error["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert error["error"]["message"] == (
        "(#100) Invalid parameter" if code == 100 else "(#131009) Parameter value is not valid"
    )
    assert error["error"]["fbtrace_id"]


def test_built_webhooks_parse_and_verify() -> None:
    text = text_message_webhook(
        "123456", "4915112345678", "Anna", "Hallo Jäger", context_id="wamid.prev"
    )
    raw = json.dumps(text).encode()
    headers = signed_post_headers(raw, "s3cret")
    assert verify(raw, headers["X-Hub-Signature-256"], "s3cret")
    (message,) = parse_webhook(raw).messages
    assert (message.text, message.contact_name, message.wa_id) == (
        "Hallo Jäger",
        "Anna",
        "4915112345678",
    )
    assert message.reply_to_provider_id == "wamid.prev"
    assert text["entry"][0]["changes"][0]["value"]["metadata"]["display_phone_number"] == "123456"
    reply = interactive_reply_webhook("sandbox", "4915112345678", "Anna",
                                      {"id": "billing", "title": "Billing", "description": "Invoices"},
                                      kind="list_reply", wamid="wamid.fixed", timestamp=1700000000)  # fmt: skip
    (tapped,) = parse_webhook(json.dumps(reply).encode()).messages
    assert (tapped.type, tapped.text, tapped.payload["id"]) == ("interactive", "Billing", "billing")
    assert (
        tapped.provider_message_id == "wamid.fixed" and tapped.timestamp.timestamp() == 1700000000
    )
    failed = status_webhook("sandbox", "wamid.out", "failed", "4915112345678",
                            error={"code": 131026, "title": "Message Undeliverable"})  # fmt: skip
    (update,) = parse_webhook(json.dumps(failed).encode()).statuses
    assert (update.status, update.error_code, update.error_title) == (
        "failed",
        131026,
        "Message Undeliverable",
    )


# --- over real HTTP, against the sandbox mounted in the live app ---


@pytest.fixture
async def graph(app_settings: Settings) -> AsyncIterator[CloudApiProvider]:
    client = build_http_client()
    yield CloudApiProvider(app_settings.graph_api_base_url, app_settings.whatsapp_phone_number_id,
                           app_settings.whatsapp_access_token, client)  # fmt: skip
    await client.aclose()


async def sandbox_messages(client: httpx.AsyncClient, to: str) -> list[dict[str, Any]]:
    response = await client.get("/sandbox/api/messages", params={"wa_id": to})
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()
    return result


async def wait_for_status(client: httpx.AsyncClient, to: str, status: str) -> dict[str, Any]:
    for _ in range(100):
        messages = await sandbox_messages(client, to)
        if messages and messages[-1]["status"] == status:
            return messages[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {status!r} status for {to}: {messages}")


async def test_send_returns_a_wamid_records_the_request_and_delivers_receipts(
    graph: CloudApiProvider, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    to = wa_id()
    wamid = await graph.send(
        OutboundRequest(to, "text", {"body": "Hallo Jäger"}), idempotency_key="k1"
    )
    assert wamid.startswith("wamid.") and len(wamid) > 20
    reply = await graph.send(
        OutboundRequest(to, "interactive", buttons("Yes", "No"), reply_to_provider_id="wamid.customer"),
        idempotency_key="k2",
    )  # fmt: skip
    first, second = await sandbox_messages(client, to)
    assert (first["id"], first["to"], first["type"]) == (wamid, to, "text")
    assert first["body"] == {"messaging_product": "whatsapp", "recipient_type": "individual",
                             "to": to, "type": "text", "text": {"body": "Hallo Jäger"},
                             "biz_opaque_callback_data": "k1"}  # fmt: skip
    assert first["received_at"] <= second["received_at"]
    assert second["id"] == reply and second["body"]["context"] == {"message_id": "wamid.customer"}
    assert (await wait_for_status(client, to, "read"))["id"] == reply
    everything = (await client.get("/sandbox/api/messages")).json()
    assert {wamid, reply} <= {message["id"] for message in everything}
    assert 0 < await ctx.redis.ttl(f"{PREFIX}msg:{wamid}") <= 3 * 24 * 3600


async def test_the_cloud_api_answer_is_exact(
    client: httpx.AsyncClient, app_settings: Settings
) -> None:
    to = wa_id()
    response = await client.post(
        f"/sandbox/graph/v23.0/{app_settings.whatsapp_phone_number_id}/messages",
        headers={"Authorization": f"Bearer {app_settings.whatsapp_access_token}"},
        json=send("text", {"body": "hi"}, to=to),
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body == {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": body["messages"][0]["id"]}]}  # fmt: skip


async def test_undeliverable_numbers_get_a_failed_receipt(
    graph: CloudApiProvider, client: httpx.AsyncClient
) -> None:
    to = wa_id("999")
    await graph.send(OutboundRequest(to, "text", {"body": "hi"}), idempotency_key="k")
    await wait_for_status(client, to, "failed")


async def test_injected_rate_limit_is_retryable_until_it_runs_out(
    graph: CloudApiProvider, client: httpx.AsyncClient
) -> None:
    to = wa_id()
    added = await client.post(
        "/sandbox/api/faults", json={"code": 130429, "count": 2, "wa_id": to, "retry_after": 7}
    )
    assert added.status_code == 201 and added.json()["code"] == 130429
    listed = (await client.get("/sandbox/api/faults")).json()
    assert any(fault["wa_id"] == to and fault["remaining"] == 2 for fault in listed)
    request = OutboundRequest(to, "text", {"body": "hi"})
    for _ in range(2):
        with pytest.raises(SendError) as failed:
            await graph.send(request, idempotency_key="k")
        assert (failed.value.code, failed.value.retryable, failed.value.retry_after) == (
            130429,
            True,
            7.0,
        )
        assert "rate limit hit" in failed.value.title.lower()
    assert (await graph.send(request, idempotency_key="k")).startswith("wamid.")
    assert all(fault["wa_id"] != to for fault in (await client.get("/sandbox/api/faults")).json())
    assert len(await sandbox_messages(client, to)) == 1


async def test_injected_permanent_fault_and_clearing(
    graph: CloudApiProvider, client: httpx.AsyncClient
) -> None:
    to = wa_id()
    await client.post("/sandbox/api/faults", json={"code": 131047, "count": 5, "wa_id": to})
    with pytest.raises(SendError) as failed:
        await graph.send(OutboundRequest(to, "text", {"body": "hi"}), idempotency_key="k")
    assert (failed.value.code, failed.value.retryable) == (131047, False)
    assert (await client.delete("/sandbox/api/faults")).status_code == 204
    assert (await client.get("/sandbox/api/faults")).json() == []
    assert await graph.send(OutboundRequest(to, "text", {"body": "hi"}), idempotency_key="k")
    for bad in (
        {"code": "x"},
        {"code": 4, "count": 0},
        {"code": 4, "http_status": 200},
        {"code": 4, "retry_after": -1},
    ):
        assert (await client.post("/sandbox/api/faults", json=bad)).status_code == 422


async def test_wrong_token_unknown_number_and_invalid_body_are_permanent(
    app_settings: Settings, graph: CloudApiProvider
) -> None:
    client = build_http_client()
    try:
        wrong = CloudApiProvider(
            app_settings.graph_api_base_url, app_settings.whatsapp_phone_number_id, "nope", client
        )
        with pytest.raises(SendError) as unauthorized:
            await wrong.send(OutboundRequest(wa_id(), "text", {"body": "hi"}), idempotency_key="k")
        assert (unauthorized.value.code, unauthorized.value.retryable) == (190, False)
        assert unauthorized.value.details["http_status"] == 401
        unknown = CloudApiProvider(app_settings.graph_api_base_url, "no-such-number", "t", client)
        with pytest.raises(SendError) as missing:
            await unknown.send(
                OutboundRequest(wa_id(), "text", {"body": "hi"}), idempotency_key="k"
            )
        assert (missing.value.code, missing.value.retryable) == (100, False)
    finally:
        await client.aclose()
    with pytest.raises(SendError) as invalid:
        await graph.send(
            OutboundRequest(wa_id(), "interactive", buttons("A", "B", "C", "D")),
            idempotency_key="k",
        )
    assert (invalid.value.code, invalid.value.retryable, invalid.value.details["http_status"]) == (
        131009,
        False,
        400,
    )


async def test_mark_read(graph: CloudApiProvider) -> None:
    await graph.mark_read("wamid.customer-message")


async def test_customer_messages_are_delivered_as_signed_webhooks(
    client: httpx.AsyncClient,
) -> None:
    to = wa_id()
    text = await client.post(
        "/sandbox/api/inbound", json={"from": to, "name": "Anna", "text": "Hallo"}
    )
    assert text.status_code == 200, text.text
    assert text.json()["message_id"].startswith("wamid.")
    assert text.json()["webhook_status"] == 200  # signed well enough for /webhooks/whatsapp
    tapped = await client.post("/sandbox/api/inbound", json={
        "from": to, "name": "Anna", "button_reply": {"id": "yes", "title": "Yes"},
        "context_id": text.json()["message_id"],
    })  # fmt: skip
    assert tapped.status_code == 200 and tapped.json()["webhook_status"] == 200
    listed = await client.post("/sandbox/api/inbound", json={
        "from": to, "name": "Anna", "list_reply": {"id": "billing", "title": "Billing", "description": "Invoices"},
    })  # fmt: skip
    assert listed.status_code == 200 and listed.json()["webhook_status"] == 200


@pytest.mark.parametrize(
    "body",
    [{"name": "Anna", "text": "hi"}, {"from": "abc", "text": "hi"}, {"from": "4915112345678"},
     {"from": "4915112345678", "text": "hi", "button_reply": {"id": "a", "title": "A"}},
     {"from": "4915112345678", "button_reply": {"title": "A"}}, {"from": "4915112345678", "text": ""},
     {"from": "4915112345678", "text": "hi", "context_id": 5}],
)  # fmt: skip
async def test_bad_inbound_bodies_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert (await client.post("/sandbox/api/inbound", json=body)).status_code == 422


async def test_inbound_to_an_unknown_channel_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/sandbox/api/inbound", json={"from": "4915112345678", "text": "hi",
                                                               "phone_number_id": "nope"})  # fmt: skip
    assert response.status_code == 404


async def test_the_phone_page_is_served_with_its_accessible_controls(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/sandbox")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'aria-label="Message"' in page and ">Send</button>" in page
    script = (await client.get("/sandbox/phone.js")).text  # a file: no inline script (CSP)
    assert "/sandbox/api/inbound" in script and "/sandbox/api/messages" in script
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/sandbox/api/inbound" in schema["paths"] and "/sandbox" not in schema["paths"]
