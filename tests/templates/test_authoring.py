"""Writing templates: our checks first, then Meta (the sandbox) reviews and a webhook approves."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login
from tests.support.graph_standin import GraphStandin
from tests.support.waiting import eventually


def body(name: str, language: str = "en", **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "language": language, "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Your order"},
            {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready.",
             "example": {"body_text": [["Ana", "A-1"]]}},
            {"type": "FOOTER", "text": "Thank you"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"},
                                            {"type": "URL", "text": "Track", "url": "https://x.test/t"}]},
        ],
        **extra,
    }  # fmt: skip


async def status_of(
    client: httpx.AsyncClient, headers: dict[str, str], template_id: int
) -> str | None:
    response = await client.get(f"/api/v1/templates/{template_id}", headers=headers)
    status: str = response.json()["status"]
    return status


async def test_a_new_template_is_pending_then_approved_by_a_signed_webhook(
    client: httpx.AsyncClient, make_agent: Any, sandbox_channel: dict[str, Any]
) -> None:
    admin = await login(client, await make_agent("admin", teams=[]))
    created = await client.post("/api/v1/templates", headers=admin,
                                json=body("shipping_notice", channel_id=sandbox_channel["id"]))  # fmt: skip
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["status"] == "PENDING" and template["provider_template_id"]
    assert template["version"] == 1
    await eventually(
        lambda: _is(client, admin, template["id"], "APPROVED"), within=15, what="approval"
    )

    german = await client.post("/api/v1/templates", headers=admin,
                               json=body("shipping_notice", "de", channel_id=sandbox_channel["id"]))  # fmt: skip
    assert german.status_code == 201, german.text
    assert [lang["language"] for lang in german.json()["languages"]] == ["de", "en"]

    rejected = await client.post("/api/v1/templates", headers=admin,
                                 json=body("reject_this_one", channel_id=sandbox_channel["id"]))  # fmt: skip
    assert rejected.status_code == 201
    await eventually(lambda: _is(client, admin, rejected.json()["id"], "REJECTED"), within=15)
    detail = (await client.get(f"/api/v1/templates/{rejected.json()['id']}", headers=admin)).json()
    assert detail["reason"].startswith("INVALID_FORMAT")

    # An edit of the approved template is a new version, back in review; the old one is kept.
    components = body("x")["components"]
    components[1] = {"type": "BODY", "text": "Hello {{1}}, order {{2}} has shipped.",
                     "example": {"body_text": [["Ana", "A-1"]]}}  # fmt: skip
    edited = await client.post(f"/api/v1/templates/{template['id']}/versions", headers=admin,
                               json={"components": components})  # fmt: skip
    assert edited.status_code == 201, edited.text
    assert edited.json()["version"] == 2 and edited.json()["status"] == "PENDING"
    assert [v["version"] for v in edited.json()["versions"]] == [2, 1]
    await eventually(lambda: _is(client, admin, template["id"], "APPROVED"), within=15)

    # Both are in the audit log, the edit with the components before and after.
    audit = await client.get("/api/v1/audit", headers=admin, params={
        "target_type": "template", "target_id": str(template["id"])})  # fmt: skip
    entries = {e["action"]: e for e in audit.json()["items"]}
    assert entries["template.created"]["after"]["version"] == 1
    change = entries["template.edited"]
    assert change["before"]["version"] == 1 and change["after"]["version"] == 2
    assert change["after"]["components"][1]["text"] == "Hello {{1}}, order {{2}} has shipped."
    assert change["before"]["components"] != change["after"]["components"]


async def _is(
    client: httpx.AsyncClient, headers: dict[str, str], template_id: int, status: str
) -> bool:
    return await status_of(client, headers, template_id) == status


async def test_our_rules_refuse_first_and_metas_refusal_keeps_its_code(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin, standin_channel: dict[str, Any]
) -> None:
    admin = await login(client, await make_agent("admin", teams=[]))
    mistake = body("Bad Name", channel_id=standin_channel["id"])
    mistake["components"][1].pop("example")
    refused = await client.post("/api/v1/templates", headers=admin, json=mistake)
    assert refused.status_code == 422
    assert (
        "name must be" in refused.json()["detail"]
        and "example is required" in refused.json()["detail"]
    )
    assert not [r for r in graph.requests if r["method"] == "POST"], "nothing reached Meta"

    graph.refuse_create = {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                           "error_subcode": 2388024, "error_user_title": "Message template already exists",
                           "error_user_msg": "There is already English content for this template."}  # fmt: skip
    meta = await client.post(
        "/api/v1/templates",
        headers=admin,
        json=body("exists_at_meta", channel_id=standin_channel["id"]),
    )
    assert meta.status_code == 422
    assert meta.json()["code"] == 100
    assert meta.json()["message"] == "There is already English content for this template."

    agent = await login(client, await make_agent("agent"))
    assert (
        await client.post("/api/v1/templates", headers=agent, json=body("x"))
    ).status_code == 403
    created = await client.post(
        "/api/v1/templates", headers=admin, json=body("fine_one", channel_id=standin_channel["id"])
    )
    assert created.status_code == 201
    [sent] = [
        r["body"]
        for r in graph.requests
        if r["method"] == "POST" and r["body"]["name"] == "fine_one"
    ]
    assert sent["components"] == body("x")["components"] and sent["category"] == "UTILITY"
    again = await client.post(
        "/api/v1/templates", headers=admin, json=body("fine_one", channel_id=standin_channel["id"])
    )
    assert again.status_code == 409
