"""Rotation without a failed webhook or sign-in: a channel's app secret with an overlap, and
SECRET_KEY=new,old keeping existing sessions valid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.channels.sandbox.webhooks import signed_post_headers, text_message_webhook
from backend.config import Settings
from tests.conftest import login, unique
from tests.support.servers import LiveServer, start_server
from tests.support.whatsapp import new_wa_id


async def _signed(client: httpx.AsyncClient, number: str, secret: str) -> int:
    raw = json.dumps(text_message_webhook(number, new_wa_id(), "Rot", "hello")).encode()
    response = await client.post(
        "/webhooks/whatsapp", content=raw, headers=signed_post_headers(raw, secret)
    )
    return response.status_code


async def test_an_app_secret_rotates_with_an_overlap(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    number, old, new = unique("pn"), unique("old-secret"), unique("new-secret")
    created = await client.post(
        "/api/v1/channels", headers=admin,
        json={"name": unique("Rot"), "phone_number_id": number, "access_token": "t",
              "app_secret": old},
    )  # fmt: skip
    cid = created.json()["id"]
    assert await _signed(client, number, old) == 200
    rotated = await client.post(
        f"/api/v1/channels/{cid}/app-secret", json={"app_secret": new, "overlap_hours": 1},
        headers=admin,
    )  # fmt: skip
    assert rotated.status_code == 200 and rotated.json()["previous_app_secret_until"]
    # Meta switches over at its own pace: both verify meanwhile.
    assert [await _signed(client, number, s) for s in (old, new, old)] == [200, 200, 200]
    retired = await client.delete(f"/api/v1/channels/{cid}/app-secret/previous", headers=admin)
    assert retired.status_code == 200 and retired.json()["previous_app_secret_until"] is None
    assert await _signed(client, number, old) == 401
    assert await _signed(client, number, new) == 200
    # An overlap of zero retires at once.
    newest = unique("newest")
    await client.post(
        f"/api/v1/channels/{cid}/app-secret", json={"app_secret": newest, "overlap_hours": 0},
        headers=admin,
    )  # fmt: skip
    assert await _signed(client, number, new) == 401
    audited = await client.get(
        "/api/v1/audit", params={"target_type": "channel", "target_id": str(cid)}, headers=admin
    )
    assert "channel.app_secret_rotated" in {e["action"] for e in audited.json()["items"]}


@pytest.fixture(scope="module")
def rotated_key_servers(settings: Settings) -> Iterator[tuple[LiveServer, LiveServer]]:
    new = "a-brand-new-secret-key-for-sessions"
    both = start_server(settings.model_copy(update={"secret_key": f"{new},{settings.secret_key}"}))
    only_new = start_server(settings.model_copy(update={"secret_key": new}))
    yield both, only_new
    both.stop()
    only_new.stop()


async def test_secret_key_rotation_keeps_sessions_until_they_expire(
    client: httpx.AsyncClient, make_agent: Any,
    rotated_key_servers: tuple[LiveServer, LiveServer],
) -> None:  # fmt: skip
    both, only_new = rotated_key_servers
    agent = await make_agent("agent")
    old_session = await login(client, agent)  # signed with the old key
    async with httpx.AsyncClient(base_url=both.base_url) as rotated:
        assert (await rotated.get("/api/v1/auth/me", headers=old_session)).status_code == 200
        new_session = await login(rotated, agent)
        assert (await rotated.get("/api/v1/auth/me", headers=new_session)).status_code == 200
    # New sessions are signed with the new key: the old-key-only server cannot read them ...
    assert (await client.get("/api/v1/auth/me", headers=new_session)).status_code == 401
    async with httpx.AsyncClient(base_url=only_new.base_url) as retired:
        # ... and once the old key is dropped, sessions signed with it end.
        assert (await retired.get("/api/v1/auth/me", headers=new_session)).status_code == 200
        assert (await retired.get("/api/v1/auth/me", headers=old_session)).status_code == 401
