"""API keys: shown once, kept as a hash, scoped, revoked at once, rate-limited per key."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select
from websockets.asyncio.client import connect

from backend.core.context import AppContext
from backend.integrations.models import ApiKey
from tests.conftest import login
from tests.realtime.test_websocket import ws_url
from tests.support.servers import LiveServer
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    client: httpx.AsyncClient, admin: dict[str, str], make_key: Any, ctx: AppContext
) -> None:
    created = await make_key("messages:send", "conversations:read", name="Orders")
    assert created["key"].startswith("sbk_") and len(created["key"]) > 40
    assert created["scopes"] == ["messages:send", "conversations:read"]
    assert created["key"].startswith(created["prefix"])
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and mine["name"] == "Orders" and mine["last_used_at"] is None
    async with ctx.sessions() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.id == created["id"]))).scalar_one()
    assert row.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in str(row.model_dump())


async def test_only_admins_make_keys_and_scopes_are_checked(
    client: httpx.AsyncClient, admin: dict[str, str], make_agent: Any, make_key: Any
) -> None:
    lead = await login(client, await make_agent("lead"))
    body = {"name": "x", "scopes": ["messages:send"]}
    assert (await client.post("/api/v1/api-keys", json=body, headers=lead)).status_code == 403
    bad = await client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["admin:all"]}, headers=admin
    )
    assert bad.status_code == 422 and "admin:all" in bad.json()["detail"]
    key = await make_key("webhooks:manage")
    made_by_key = await client.post("/api/v1/api-keys", json=body, headers=key["headers"])
    assert made_by_key.status_code == 403


async def test_a_key_is_used_within_its_scopes_and_refused_outside_them(
    client: httpx.AsyncClient, admin: dict[str, str], make_key: Any
) -> None:
    key = await make_key("messages:send")
    used = await client.get("/api/v1/messages/999999999", headers=key["headers"])
    assert used.status_code == 404  # through auth and scope, to the route
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
    assert next(k for k in listed if k["id"] == key["id"])["last_used_at"] is not None
    # The inbox's routes never take a key, whatever its scopes.
    for path in ("/api/v1/conversations", "/api/v1/auth/me", "/api/v1/stats/queues"):
        refused = await client.get(path, headers=key["headers"])
        assert refused.status_code == 403, (path, refused.text)
    other = await make_key("contacts:read")
    outside = await client.get("/api/v1/messages/1", headers=other["headers"])
    assert outside.status_code == 403 and "messages:send" in outside.json()["detail"]


async def test_a_key_never_opens_the_websocket(server: LiveServer, make_key: Any) -> None:
    key = await make_key("messages:send", "conversations:read")
    async with connect(ws_url(server, key["key"])) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], make_key: Any
) -> None:
    key = await make_key("messages:send")
    assert (await client.get("/api/v1/messages/1", headers=key["headers"])).status_code == 404
    revoked = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = await client.get("/api/v1/messages/1", headers=key["headers"])
    assert after.status_code == 401
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
    assert key["id"] not in {k["id"] for k in listed}
    unknown = await client.get("/api/v1/messages/1", headers={"Authorization": "Bearer sbk_nope"})
    assert unknown.status_code == 401


async def test_each_key_has_its_own_rate_limit(client: httpx.AsyncClient, make_key: Any) -> None:
    slow = await make_key("messages:send", rate_per_minute=3)
    fast = await make_key("messages:send")
    codes = [
        (await client.get("/api/v1/messages/1", headers=slow["headers"])).status_code
        for _ in range(4)
    ]
    assert codes == [404, 404, 404, 429]
    limited = await client.get("/api/v1/messages/1", headers=slow["headers"])
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 20
    assert "3 requests per minute" in limited.json()["detail"]
    assert (await client.get("/api/v1/messages/1", headers=fast["headers"])).status_code == 404


async def test_a_key_with_conversations_read_reads_but_never_writes(
    client: httpx.AsyncClient, admin: dict[str, str], make_key: Any
) -> None:
    from tests.support.whatsapp import customer_says, new_wa_id

    scopes = (await client.get("/api/v1/api-keys/scopes", headers=admin)).json()["items"]
    assert "conversations:read" in scopes and len(scopes) == 5
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Hello from a reader test")
    reader = await make_key("conversations:read")
    listed = await client.get(
        "/api/v1/conversations", params={"q": wa_id}, headers=reader["headers"]
    )
    assert listed.status_code == 200, listed.text
    [conversation] = listed.json()["items"]
    one = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=reader["headers"])
    assert one.status_code == 200
    messages = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=reader["headers"]
    )
    assert [m["text"] for m in messages.json()["items"]] == ["Hello from a reader test"]
    claim = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=reader["headers"]
    )
    assert claim.status_code == 403
    sender = await make_key("messages:send")
    assert (await client.get("/api/v1/conversations", headers=sender["headers"])).status_code == 403


async def test_contact_scopes_read_and_write_the_customers_profile(
    client: httpx.AsyncClient, make_key: Any
) -> None:
    """A business system's CRM reads the profile with `contacts:read` and keeps names and
    attributes in step with `contacts:write`; each scope opens only its own verb."""
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Where is order 1042?")
    reader = await make_key("contacts:read", "conversations:read", name="CRM reader")
    conversation = await find_conversation(client, reader["headers"], wa_id)
    path = f"/api/v1/contacts/{conversation['contact']['id']}"
    seen = await client.get(path, headers=reader["headers"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["wa_id"] == wa_id
    refused = await client.patch(path, json={"name": "X"}, headers=reader["headers"])
    assert refused.status_code == 403 and "contacts:write" in refused.text

    writer = await make_key("contacts:write", name="CRM writer")
    changed = await client.patch(
        path, json={"name": "Carla Gómez", "attributes": {"customer_no": "C-1042"}},
        headers=writer["headers"],
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Carla Gómez"
    assert changed.json()["attributes"]["customer_no"] == "C-1042"
    assert (await client.get(path, headers=writer["headers"])).status_code == 403
    sender = await make_key("messages:send", name="Sender only")
    assert (await client.get(path, headers=sender["headers"])).status_code == 403
    missing = await client.get("/api/v1/contacts/999999999", headers=reader["headers"])
    assert missing.status_code == 404
