"""POST /webhooks/whatsapp with odd items beside good ones: 200, the good ones stored, nothing lost.

Each body here was a 500 that also lost the good messages beside it; now the odd message is a
stored `unsupported` message with its raw object (or a kept reject), and the metric counts it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.channels.models import WebhookReject
from backend.channels.sandbox.webhooks import new_wamid
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.whatsapp import CHANNEL, find_conversation, new_wa_id, post_webhook


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


def _value(messages: list[Any], contacts: list[Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": CHANNEL},
            "contacts": contacts, "messages": messages}}]}]}  # fmt: skip


def _text(wa_id: str, body: Any, wamid: str | None = None) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid or new_wamid(), "timestamp": str(int(time.time())),
            "type": "text", "text": {"body": body}}  # fmt: skip


async def _messages(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> list[dict[str, Any]]:
    conversation = await find_conversation(client, headers, wa_id)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
    )
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _unreadable_count(client: httpx.AsyncClient, kind: str) -> float:
    text = (await client.get("/metrics")).text
    found = re.search(
        rf'switchboard_webhook_unreadable_items_total\{{kind="{kind}",provider="whatsapp"\}} (\S+)',
        text,
    ) or re.search(
        rf'switchboard_webhook_unreadable_items_total\{{provider="whatsapp",kind="{kind}"\}} (\S+)',
        text,
    )
    return float(found.group(1)) if found else 0.0


ODD_CONTENT = [
    (
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "b", "title": {"nested": True}}},
    ),
    ("interactive", {"type": "nfm_reply", "nfm_reply": {"body": ["Sent"], "response_json": "{}"}}),
    ("contacts", [{"name": {"formatted_name": "Ann"}, "phones": 12345}]),
    ("order", {"catalog_id": "1", "product_items": 3}),
    ("contacts", 42),
]


@pytest.mark.parametrize(("kind", "content"), ODD_CONTENT)
async def test_one_unreadable_and_nine_good_messages(
    client: httpx.AsyncClient, lead_headers: dict[str, str], kind: str, content: Any
) -> None:
    customers = [new_wa_id() for _ in range(10)]
    odd = {
        "from": customers[0],
        "id": new_wamid(),
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }
    messages = [odd, *(_text(w, f"good from {w}") for w in customers[1:])]
    contacts = [{"profile": {"name": f"C {w[-4:]}"}, "wa_id": w} for w in customers]
    before = await _unreadable_count(client, "message")
    response = await post_webhook(client, _value(messages, contacts))
    assert response.status_code == 200, response.text
    assert response.json()["messages"] == 10
    for wa_id in customers[1:]:
        [stored] = await _messages(client, lead_headers, wa_id)
        assert (stored["type"], stored["text"]) == ("text", f"good from {wa_id}")
    [kept] = await _messages(client, lead_headers, customers[0])
    assert (kept["type"], kept["sender"], kept["provider_message_id"]) == (
        "unsupported",
        "customer",
        odd["id"],
    )
    assert kept["payload"]["raw"] == odd and kept["payload"]["original_type"] == kind
    assert await _unreadable_count(client, "message") == before + 1


async def test_lone_surrogates_and_nul_are_stored_as_replacement_characters(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    odd_customer, good_customer = new_wa_id(), new_wa_id()
    body = _value([_text(odd_customer, "MARK"), _text(good_customer, "fine")],
                  [{"profile": {"name": "S\\ud800"}, "wa_id": odd_customer}])  # fmt: skip
    raw = json.dumps(body).encode().replace(b"MARK", b"broken \\ud800 and \\u0000 here")
    raw = raw.replace(b"S\\\\ud800", b"S\\ud800")
    response = await post_webhook(client, raw)
    assert response.status_code == 200, response.text
    [stored] = await _messages(client, lead_headers, odd_customer)
    assert stored["text"] == "broken \ufffd and \ufffd here"
    assert (await find_conversation(client, lead_headers, odd_customer))["contact"][
        "name"
    ] == "S\ufffd"
    assert [m["text"] for m in await _messages(client, lead_headers, good_customer)] == ["fine"]


async def test_very_deep_nesting_is_stored_cut_off(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    odd_customer, good_customer = new_wa_id(), new_wa_id()
    body = _value([_text(odd_customer, "DEEP"), _text(good_customer, "fine")], [])
    raw = json.dumps(body).encode().replace(b'"DEEP"', b"[" * 100_000 + b"]" * 100_000)
    response = await post_webhook(client, raw)
    assert response.status_code == 200, response.text
    [stored] = await _messages(client, lead_headers, odd_customer)
    assert stored["type"] == "unsupported" and "nested deeper" in json.dumps(stored["payload"])
    assert [m["text"] for m in await _messages(client, lead_headers, good_customer)] == ["fine"]


async def test_parts_naming_no_customer_are_kept_as_rejects(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    good_customer, marker = new_wa_id(), new_wamid()
    nobody = {
        "id": marker,
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "who am I?"},
    }
    body = _value([nobody, _text(good_customer, "fine")], [])
    body["entry"][0]["changes"][0]["value"]["statuses"] = [{"status": "read", "marker": marker}]
    before = await _unreadable_count(client, "status")
    response = await post_webhook(client, body)
    assert response.status_code == 200, response.text
    assert [m["text"] for m in await _messages(client, lead_headers, good_customer)] == ["fine"]
    async with ctx.sessions() as session:
        rows = list(
            (await session.execute(select(WebhookReject).order_by(col(WebhookReject.id)))).scalars()
        )
    mine = [r for r in rows if marker in json.dumps(r.raw)]
    assert [(r.kind, r.raw, r.provider) for r in mine] == [
        ("message", nobody, "whatsapp"), ("status", {"status": "read", "marker": marker}, "whatsapp"),
    ]  # fmt: skip
    assert all(r.channel_id is not None for r in mine)
    assert await _unreadable_count(client, "status") == before + 1


async def test_a_retried_message_without_an_id_is_stored_once(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    message = {k: v for k, v in _text(wa_id, "no id at all").items() if k != "id"}
    body = _value([message], [{"profile": {"name": "N"}, "wa_id": wa_id}])
    assert (await post_webhook(client, body)).json()["messages"] == 1
    assert (await post_webhook(client, body)).json()["duplicates"] == 1
    [stored] = await _messages(client, lead_headers, wa_id)
    assert stored["text"] == "no id at all" and stored["provider_message_id"].startswith(
        "unreadable."
    )


async def test_a_body_that_is_not_a_webhook_is_still_400(client: httpx.AsyncClient) -> None:
    for raw in (
        b"[" * 50_000,
        json.dumps({"object": "whatsapp_business_account", "entry": [{}]}).encode(),
    ):
        response = await post_webhook(client, raw)
        assert response.status_code == 400, response.text
        assert "not a WhatsApp webhook" in response.json()["detail"]
