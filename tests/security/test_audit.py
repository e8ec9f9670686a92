"""The audit log: sign-ins (success and failure), configuration changes with before and after
and no secrets, role changes, deactivations, API keys; admins read it with filters."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login, unique

AUDIT = "/api/v1/audit"


async def _entries(client: httpx.AsyncClient, admin: dict[str, str], **query: Any) -> list[Any]:
    response = await client.get(AUDIT, params=query, headers=admin)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_every_kind_of_entry_is_written_and_secrets_never(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin_agent = await make_agent("admin")
    admin = await login(client, admin_agent)
    target = await make_agent("agent")
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": target["email"], "password": "not-the-password"},
        headers={"X-Forwarded-For": "192.0.2.44"},
    )  # fmt: skip
    assert wrong.status_code == 401
    await login(client, target)
    secret = unique("very-secret-token")
    channel = await client.post(
        "/api/v1/channels", headers=admin,
        json={"name": unique("Aud"), "phone_number_id": unique("pn"), "access_token": secret,
              "app_secret": secret + "-app"},
    )  # fmt: skip
    cid = channel.json()["id"]
    patched = await client.patch(
        f"/api/v1/channels/{cid}", json={"name": "Renamed", "access_token": secret + "-2"},
        headers=admin,
    )  # fmt: skip
    assert patched.status_code == 200
    promoted = await client.patch(
        f"/api/v1/agents/{target['id']}", json={"role": "lead"}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text
    gone = await client.patch(
        f"/api/v1/agents/{target['id']}", json={"active": False}, headers=admin
    )
    assert gone.status_code == 200
    key = await client.post(
        "/api/v1/api-keys", json={"name": unique("k"), "scopes": ["messages:send"]}, headers=admin
    )
    assert (await client.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=admin)).is_success

    everything = await _entries(client, admin, limit=500)
    text = str(everything)
    assert secret not in text and key.json()["key"] not in text
    failed = [e for e in everything if e["action"] == "auth.sign_in_failed"
              and e["actor"]["name"] == target["email"]]  # fmt: skip
    assert failed and failed[0]["source"] == "192.0.2.44"
    signed_in = await _entries(client, admin, action="auth.sign_in", actor_id=target["id"])
    assert any(e["action"] == "auth.sign_in" for e in signed_in)
    updated = await _entries(client, admin, target_type="channel", target_id=str(cid))
    assert [e["action"] for e in updated] == ["channel.updated", "channel.created"]
    assert updated[0]["before"]["name"] != "Renamed" and updated[0]["after"]["name"] == "Renamed"
    assert "access_token" in updated[0]["detail"] and secret not in updated[0]["detail"]
    assert updated[0]["actor"] == {
        "kind": "agent",
        "id": admin_agent["id"],
        "name": admin_agent["email"],
    }
    on_agent = await _entries(client, admin, target_type="agent", target_id=str(target["id"]))
    actions = [e["action"] for e in on_agent]
    assert actions[:2] == ["agent.deactivated", "agent.role_changed"]
    assert on_agent[1]["before"]["role"] == "agent" and on_agent[1]["after"]["role"] == "lead"
    keys = await _entries(client, admin, action="api_key.")
    assert {"api_key.created", "api_key.revoked"} <= {e["action"] for e in keys}
    page = await _entries(client, admin, limit=2)
    older = await _entries(client, admin, limit=2, before_id=page[-1]["id"])
    assert older and all(e["id"] < page[-1]["id"] for e in older)


async def test_only_admins_read_the_audit_log(client: httpx.AsyncClient, make_agent: Any) -> None:
    for role in ("agent", "lead"):
        headers = await login(client, await make_agent(role))
        assert (await client.get(AUDIT, headers=headers)).status_code == 403
