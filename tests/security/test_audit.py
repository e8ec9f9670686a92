"""The audit log: sign-ins (success and failure), configuration changes with before and after
and no secrets, role changes, deactivations, API keys; admins read it with filters."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id

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


FLOW = """name: Audited flow
start: hello
nodes:
  hello:
    type: message
    text: "Hello {n}"
    next: person
  person:
    type: handoff
    team: {team}
"""


async def _one(
    client: httpx.AsyncClient, admin: dict[str, str], action: str, target_id: Any
) -> dict[str, Any]:
    """The newest entry of exactly `action` on that target, found with the API's filters."""
    kind = action.split(".")[0]
    found = await _entries(client, admin, action=action, target_type=kind, target_id=str(target_id))
    exact = [e for e in found if e["action"] == action]
    assert exact, f"no {action} on {kind} {target_id}"
    return exact[0]


async def test_every_kind_of_configuration_change_is_audited(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    """Quick replies, SLA policies, surveys, teams (name, members, hours with holidays), bot
    flows (saved, rolled back, switched off), outgoing webhooks, labels and a channel's verify
    token: each change an entry with who, before and after; no secret anywhere."""
    admin_agent = await make_agent("admin")
    admin = await login(client, admin_agent)
    me = {"kind": "agent", "id": admin_agent["id"], "name": admin_agent["email"]}
    member = await make_agent("agent")

    reply = (await client.post("/api/v1/quick-replies", headers=admin, json={
        "shortcut": unique("aud"), "title": "Hello", "text": "Hello there"})).json()  # fmt: skip
    rid = reply["id"]
    await client.patch(f"/api/v1/quick-replies/{rid}", headers=admin, json={"title": "Hi"})
    await client.delete(f"/api/v1/quick-replies/{rid}", headers=admin)
    created = await _one(client, admin, "quick_reply.created", rid)
    assert created["actor"] == me and created["after"]["title"] == "Hello"
    updated = await _one(client, admin, "quick_reply.updated", rid)
    assert updated["before"]["title"] == "Hello" and updated["after"]["title"] == "Hi"
    assert updated["detail"] == "changed: title"
    deleted = await _one(client, admin, "quick_reply.deleted", rid)
    assert deleted["before"]["title"] == "Hi" and deleted["after"] is None

    team = (await client.post("/api/v1/teams", headers=admin, json={"name": unique("AudT")})).json()
    tid = team["id"]
    await client.patch(f"/api/v1/teams/{tid}", headers=admin, json={"name": team["name"] + "x"})
    members = await client.put(
        f"/api/v1/teams/{tid}/members", headers=admin, json={"agent_ids": [member["id"]]}
    )
    assert members.status_code == 200, members.text
    hours = await client.put(f"/api/v1/teams/{tid}/hours", headers=admin, json={
        "timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]},
        "holidays": ["2026-12-25"]})  # fmt: skip
    assert hours.status_code == 200, hours.text
    assert (await _one(client, admin, "team.created", tid))["after"]["name"] == team["name"]
    renamed = await _one(client, admin, "team.updated", tid)
    assert renamed["after"]["name"] == team["name"] + "x" and renamed["detail"] == "changed: name"
    joined = await _one(client, admin, "team.members_changed", tid)
    assert joined["before"] == {"members": []} and joined["after"] == {"members": [member["id"]]}
    scheduled = await _one(client, admin, "team.hours_updated", tid)
    assert scheduled["before"] is None and scheduled["after"]["holidays"] == ["2026-12-25"]

    policy = await client.post("/api/v1/sla/policies", headers=admin, json={
        "team_id": tid, "first_response_seconds": 300})  # fmt: skip
    assert policy.status_code == 201, policy.text
    pid = policy.json()["id"]
    await client.patch(f"/api/v1/sla/policies/{pid}", headers=admin,
                       json={"first_response_seconds": 600})  # fmt: skip
    await client.delete(f"/api/v1/sla/policies/{pid}", headers=admin)
    assert (await _one(client, admin, "sla_policy.created", pid))["after"]["team_id"] == tid
    tightened = await _one(client, admin, "sla_policy.updated", pid)
    assert tightened["before"]["first_response_seconds"] == 300
    assert tightened["after"]["first_response_seconds"] == 600
    assert (await _one(client, admin, "sla_policy.deleted", pid))["before"]["id"] == pid

    secret = unique("channel-secret")
    channel = (await client.post("/api/v1/channels", headers=admin, json={
        "name": unique("AudC"), "phone_number_id": unique("pn"), "access_token": secret,
        "app_secret": secret + "-app"})).json()  # fmt: skip
    cid = channel["id"]
    survey = await client.put(f"/api/v1/channels/{cid}/survey", headers=admin, json={
        "enabled": False, "delay_seconds": 60})  # fmt: skip
    assert survey.status_code == 200, survey.text
    surveyed = await _one(client, admin, "survey_config.updated", cid)
    assert surveyed["after"]["enabled"] is False and surveyed["after"]["delay_seconds"] == 60
    verify = await client.post(f"/api/v1/channels/{cid}/verify-token", headers=admin)
    new_verify_token = verify.json()["verify_token"]
    replaced = await _one(client, admin, "channel.verify_token_replaced", cid)
    assert replaced["actor"] == me

    for n in (1, 2):
        saved = await client.put(f"/api/v1/channels/{cid}/bot", headers=admin,
                                 content=FLOW.format(n=n, team=team["name"] + "x").encode())  # fmt: skip
        assert saved.status_code == 200, saved.text
    rolled = await client.post(f"/api/v1/channels/{cid}/bot/versions/1/activate", headers=admin)
    assert rolled.status_code == 200, rolled.text
    assert (await client.delete(f"/api/v1/channels/{cid}/bot", headers=admin)).status_code == 204
    saved_entry = await _one(client, admin, "bot_flow.saved", cid)
    assert saved_entry["before"]["active_version"] == 1
    assert saved_entry["after"]["active_version"] == 2
    back = await _one(client, admin, "bot_flow.rolled_back", cid)
    assert back["after"]["active_version"] == 3 and "from version 1" in back["detail"]
    off = await _one(client, admin, "bot_flow.switched_off", cid)
    assert off["before"]["active_version"] == 3 and off["after"] == {"active_version": None}

    hook = await client.post("/api/v1/webhook-endpoints", headers=admin, json={
        "url": "http://127.0.0.1:9/in?token=hook-query-secret", "events": ["conversation.resolved"]})  # fmt: skip
    assert hook.status_code == 201, hook.text
    hid, hook_secret = hook.json()["id"], hook.json()["secret"]
    await client.patch(
        f"/api/v1/webhook-endpoints/{hid}", headers=admin, json={"state": "disabled"}
    )
    rotated = await client.post(f"/api/v1/webhook-endpoints/{hid}/rotate-secret", headers=admin)
    await client.delete(f"/api/v1/webhook-endpoints/{hid}", headers=admin)
    made = await _one(client, admin, "webhook_endpoint.created", hid)
    assert made["after"]["url"] == "http://127.0.0.1:9/in?token=[redacted]"
    disabled = await _one(client, admin, "webhook_endpoint.updated", hid)
    assert disabled["before"]["state"] == "active" and disabled["after"]["state"] == "disabled"
    await _one(client, admin, "webhook_endpoint.secret_rotated", hid)
    await _one(client, admin, "webhook_endpoint.deleted", hid)

    conversation_label = unique("aud-label")
    label = await _ensure_label(client, admin, conversation_label)
    await client.patch(f"/api/v1/labels/{label}", headers=admin, json={"colour": "#1A73E8"})
    coloured = await _one(client, admin, "label.updated", label)
    assert coloured["after"]["colour"] == "#1a73e8" and coloured["detail"] == "changed: colour"

    text = str(await _entries(client, admin, limit=500))
    for value in (secret, new_verify_token, hook_secret, rotated.json()["secret"],
                  "hook-query-secret"):  # fmt: skip
        assert value not in text


async def _ensure_label(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> int:
    """A label exists once some conversation wears it: the customer writes, an admin labels."""
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "label me")
    conversation = await find_conversation(client, admin, wa_id)
    labelled = await client.put(
        f"/api/v1/conversations/{conversation['id']}/labels", headers=admin,
        json={"labels": [name]},
    )  # fmt: skip
    assert labelled.status_code == 200, labelled.text
    found = (await client.get("/api/v1/labels", headers=admin)).json()["items"]
    label_id: int = next(x["id"] for x in found if x["name"] == name)
    return label_id
