"""Posting Meta-shaped, correctly signed webhooks to the running app."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from backend.channels.sandbox.webhooks import signed_post_headers, text_message_webhook

CHANNEL = "sandbox"
SECRET = "sandbox-secret"


def new_wa_id() -> str:
    return "49" + "".join(random.choice("0123456789") for _ in range(10))


async def post_webhook(
    client: httpx.AsyncClient, body: dict[str, Any] | bytes, secret: str = SECRET
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        "/webhooks/whatsapp", content=raw, headers=signed_post_headers(raw, secret)
    )


async def customer_says(
    client: httpx.AsyncClient, wa_id: str, text: str, name: str = "Carla Customer", **extra: Any
) -> str:
    body = text_message_webhook(CHANNEL, wa_id, name, text, **extra)
    response = await post_webhook(client, body)
    assert response.status_code == 200, response.text
    wamid: str = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    return wamid


async def find_conversation(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> dict[str, Any]:
    response = await client.get("/api/v1/conversations", params={"q": wa_id}, headers=headers)
    assert response.status_code == 200, response.text
    items = [c for c in response.json()["items"] if c["contact"]["wa_id"] == wa_id]
    assert items, f"no conversation for {wa_id}"
    return items[0]
