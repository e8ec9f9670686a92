"""The whole loop with one API key: an order confirmation to a new customer, then the customer's
reply and the resolution arrive at the business system as signed webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import login
from tests.integrations.test_api_messages import ORDER_CONFIRMATION
from tests.support.business_system import BusinessSystem, Received, start_business_system
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, new_wa_id


@pytest.fixture
async def shop(worker: LiveWorker) -> AsyncIterator[BusinessSystem]:
    system = start_business_system()
    yield system
    system.stop()


async def test_one_key_sends_a_confirmation_and_hears_the_reply_and_the_resolution(
    client: httpx.AsyncClient, shop: BusinessSystem, make_key: Any, make_agent: Any
) -> None:
    key = await make_key("messages:send", "webhooks:manage", name="Shop")
    endpoint = await client.post(
        "/api/v1/webhook-endpoints",
        json={"url": shop.url, "events": ["message.created", "conversation.resolved"]},
        headers=key["headers"],
    )
    assert endpoint.status_code == 201, endpoint.text
    shop.secrets.append(endpoint.json()["secret"])

    wa_id = new_wa_id()
    sent = await client.post(
        "/api/v1/messages", json={"to": wa_id, "name": "Ada", "template": ORDER_CONFIRMATION,
                                  "team": "General", "reference": "order-1042"},
        headers=key["headers"] | {"Idempotency-Key": "order-1042"},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    conversation_id = sent.json()["conversation_id"]
    await customer_says(client, wa_id, "Thanks! Can I change the address?")
    agent = await make_agent("agent")
    headers = await login(client, agent)
    claimed = await client.post(f"/api/v1/conversations/{conversation_id}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.text
    resolved = await client.post(
        f"/api/v1/conversations/{conversation_id}/resolve", headers=headers
    )
    assert resolved.status_code == 200, resolved.text

    def ours() -> list[Received]:
        return [r for r in shop.received if r.body["conversation_id"] == conversation_id]

    async def heard() -> list[Received] | None:
        got = ours()
        inbound = [r for r in got if r.body["type"] == "message.created"
                   and r.body["data"]["message"]["direction"] == "inbound"]  # fmt: skip
        closed = [r for r in got if r.body["type"] == "conversation.resolved"]
        return got if inbound and closed else None

    got = await eventually(heard, what="the reply and the resolution at the shop")
    assert all(r.verified_with for r in got)
    texts = [r.body["data"]["message"]["text"] for r in got if r.body["type"] == "message.created"]
    assert "Thanks! Can I change the address?" in texts
    ours_sent = [r.body["data"]["message"] for r in got if r.body["type"] == "message.created"
                 and r.body["data"]["message"]["sender"] == "api"]  # fmt: skip
    assert ours_sent and ours_sent[0]["reference"] == "order-1042"
    assert ours_sent[0]["api_key"]["name"] == "Shop"
    resolution = next(r for r in got if r.body["type"] == "conversation.resolved")
    assert resolution.body["data"]["conversation"]["status"] == "resolved"
