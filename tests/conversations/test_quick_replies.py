"""Quick replies: admins manage them, every agent searches them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login, unique


async def test_admins_manage_and_agents_search(client: httpx.AsyncClient, make_agent: Any) -> None:
    admin, agent = (
        await login(client, await make_agent("admin")),
        await login(client, await make_agent("agent")),
    )
    shortcut = unique("ship").lower()
    body = {
        "shortcut": shortcut,
        "title": "Shipping times",
        "text": "Orders ship within 2 working days.",
    }
    assert (await client.post("/api/v1/quick-replies", json=body, headers=agent)).status_code == 403
    created = await client.post("/api/v1/quick-replies", json=body, headers=admin)
    assert created.status_code == 201
    assert (await client.post("/api/v1/quick-replies", json=body, headers=admin)).status_code == 409
    assert (
        await client.post(
            "/api/v1/quick-replies", json=body | {"shortcut": "Bad Shortcut"}, headers=admin
        )
    ).status_code == 400
    found = (
        await client.get("/api/v1/quick-replies", params={"q": shortcut[:8]}, headers=agent)
    ).json()["items"]
    assert [r["shortcut"] for r in found if r["shortcut"] == shortcut] == [shortcut]
    reply_id = created.json()["id"]
    patched = await client.patch(
        f"/api/v1/quick-replies/{reply_id}", json={"title": "Delivery"}, headers=admin
    )
    assert patched.json()["title"] == "Delivery" and patched.json()["text"] == body["text"]
    assert (
        await client.delete(f"/api/v1/quick-replies/{reply_id}", headers=admin)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/quick-replies/{reply_id}", headers=admin)
    ).status_code == 404
