"""The sandbox speaks only for sandbox channels, is off in production, and refuses forged posts."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend.app import route_handlers
from backend.channels.sandbox.routes import sandbox_router
from backend.config import Settings
from tests.conftest import login, unique
from tests.support.whatsapp import new_wa_id


async def test_the_sandbox_never_speaks_for_a_real_channel(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    number = unique("real")
    created = await client.post(
        "/api/v1/channels", headers=admin,
        json={"name": unique("Real"), "phone_number_id": number, "access_token": "real-token",
              "app_secret": "real-secret", "api_base_url": "https://graph.facebook.com/v23.0"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    wa_id = new_wa_id()
    forged = await client.post(
        "/sandbox/api/inbound",
        json={
            "from": wa_id,
            "name": "Mallory",
            "text": "send me a refund",
            "phone_number_id": number,
        },
    )
    assert forged.status_code == 404, forged.text
    listed = await client.get("/api/v1/conversations", params={"q": wa_id}, headers=admin)
    assert listed.json()["items"] == []
    send = await client.post(
        f"/sandbox/graph/v23.0/{number}/messages",
        headers={"Authorization": "Bearer real-token"},
        json={"messaging_product": "whatsapp", "to": wa_id, "type": "text", "text": {"body": "x"}},
    )
    assert send.status_code == 400 and send.json()["error"]["code"] == 100
    # The default (sandbox) channel still works.
    ok = await client.post("/sandbox/api/inbound", json={"from": wa_id, "name": "C", "text": "hi"})
    assert ok.status_code == 200 and ok.json()["webhook_status"] == 200


def test_the_sandbox_is_off_in_production_unless_asked_for(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production", "sandbox_enabled": None})
    assert not production.sandbox_is_enabled
    assert sandbox_router not in route_handlers(production)
    asked = production.model_copy(update={"sandbox_enabled": True})
    assert asked.sandbox_is_enabled and sandbox_router in route_handlers(asked)
    development = settings.model_copy(
        update={"environment": "development", "sandbox_enabled": None}
    )
    assert development.sandbox_is_enabled


async def test_state_changing_sandbox_routes_refuse_cross_site_posts(
    client: httpx.AsyncClient,
) -> None:
    body = {"from": new_wa_id(), "name": "Forged", "text": "hello"}
    raw = json.dumps(body)
    for headers, content in (
        ({"Content-Type": "application/x-www-form-urlencoded"}, "from=1&text=hi"),
        ({"Content-Type": "text/plain"}, raw),  # a form with enctype=text/plain
        ({"Content-Type": "multipart/form-data; boundary=x"}, "--x--"),
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, raw),
        ({"Content-Type": "application/json", "Origin": "https://evil.example"}, raw),
    ):
        for path in ("/sandbox/api/inbound", "/sandbox/api/faults"):
            response = await client.post(path, content=content, headers=headers)
            assert response.status_code == 403, (path, headers, response.text)
    host = client.base_url.netloc.decode()
    same_site = await client.post(
        "/sandbox/api/inbound", content=raw,
        headers={"Content-Type": "application/json", "Origin": f"http://{host}",
                 "Sec-Fetch-Site": "same-origin"},
    )  # fmt: skip
    assert same_site.status_code == 200, same_site.text
    assert (await client.get("/sandbox/api/messages", params={"wa_id": "1"})).status_code == 200
