"""The library is synced from Meta over every page; edits become versions; live webhooks update it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import login
from tests.support.graph_standin import GraphStandin
from tests.support.whatsapp import post_webhook

FIXTURES = Path(__file__).parents[1] / "channels" / "fixtures" / "pywa"


def meta_template(
    name: str, language: str, body: str = "Hello {{1}}, welcome.", **extra: Any
) -> dict[str, Any]:
    return {
        "name": name, "language": language, "category": "UTILITY", "status": "APPROVED",
        "id": str(abs(hash((name, language))) % 10**15),
        "components": [{"type": "BODY", "text": body, "example": {"body_text": [["Mark"]]}}],
        **extra,
    }  # fmt: skip


async def templates(
    client: httpx.AsyncClient, headers: dict[str, str], channel_id: int, **query: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/templates", params={"channel_id": channel_id, **query}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_sync_follows_every_page_and_keeps_versions(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin, standin_channel: dict[str, Any]
) -> None:
    lead = await login(client, await make_agent("lead"))
    graph.templates.extend([
        meta_template("welcome", "en"), meta_template("welcome", "de", "Hallo {{1}}, willkommen."),
        meta_template("order_shipped", "en", "Your order {{1}} has shipped."),
        meta_template("promo", "en", "Sale for {{1}} today.", status="PAUSED"),
        meta_template("old_one", "en"),
    ])  # fmt: skip
    synced = await client.post("/api/v1/templates/sync", params={"channel_id": standin_channel["id"]},
                               headers=lead)  # fmt: skip
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"synced": 5, "changed": 5}
    gets = [r for r in graph.requests if r["method"] == "GET"]
    assert [r.get("after") for r in gets][-3:] == [None, "cursor-2", "cursor-4"]
    assert all(r["waba_id"] == standin_channel["waba_id"] for r in gets)

    agent = await login(client, await make_agent("agent"))
    listed = await templates(client, agent, standin_channel["id"])
    assert [(t["name"], t["language"]) for t in listed] == [
        ("old_one", "en"),
        ("order_shipped", "en"),
        ("promo", "en"),
        ("welcome", "de"),
        ("welcome", "en"),
    ]
    welcome = next(t for t in listed if (t["name"], t["language"]) == ("welcome", "en"))
    assert [lang["language"] for lang in welcome["languages"]] == ["de", "en"]
    assert welcome["parameters"] == [{"component": "body", "name": "1", "type": "text", "index": None,
                                      "example": "Mark"}]  # fmt: skip
    assert welcome["version"] == 1 and welcome["offered"] is True
    promo = next(t for t in listed if t["name"] == "promo")
    assert promo["status"] == "PAUSED" and promo["offered"] is False
    assert [
        t["name"] for t in await templates(client, agent, standin_channel["id"], q="shipped")
    ] == ["order_shipped"]

    # Edited in WhatsApp Manager, and one deleted: a new version, the old kept; DELETED hidden.
    graph.templates[:] = [t for t in graph.templates if t["name"] != "old_one"]
    graph.templates[0] = meta_template("welcome", "en", "Hello {{1}}, welcome back!")
    again = await client.post("/api/v1/templates/sync", params={"channel_id": standin_channel["id"]},
                              headers=lead)  # fmt: skip
    assert again.json() == {"synced": 4, "changed": 2}
    listed = await templates(client, agent, standin_channel["id"])
    assert "old_one" not in [t["name"] for t in listed]
    detail = (await client.get(f"/api/v1/templates/{welcome['id']}", headers=agent)).json()
    assert detail["version"] == 2
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][1]["components"][0]["text"] == "Hello {{1}}, welcome."


async def test_only_leads_sync_and_a_refusing_meta_is_reported(
    client: httpx.AsyncClient, make_agent: Any, standin_channel: dict[str, Any], ctx: Any
) -> None:
    agent = await login(client, await make_agent("agent"))
    refused = await client.post(
        "/api/v1/templates/sync", params={"channel_id": standin_channel["id"]}, headers=agent
    )
    assert refused.status_code == 403
    from backend.channels.models import Channel

    async with ctx.sessions() as session:
        channel = await session.get(Channel, standin_channel["id"])
        channel.access_token = "wrong-token"
        await session.commit()
    lead = await login(client, await make_agent("lead"))
    failed = await client.post(
        "/api/v1/templates/sync", params={"channel_id": standin_channel["id"]}, headers=lead
    )
    assert failed.status_code == 422
    assert failed.json()["code"] == 190
    states = (await client.get("/api/v1/templates/sync", headers=lead)).json()["items"]
    [state] = [s for s in states if s["channel_id"] == standin_channel["id"]]
    assert state["last_error"].startswith("190:") and state["synced_at"] is None


def fixture(name: str, case: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())[case]
    return copy.deepcopy(body)


async def test_status_quality_and_category_webhooks_update_the_library_live(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin, standin_channel: dict[str, Any]
) -> None:
    lead = await login(client, await make_agent("lead"))
    graph.templates.extend(
        [meta_template("order_confirmation", "en_US"), meta_template("abandoned_cart", "en")]
    )
    await client.post(
        "/api/v1/templates/sync", params={"channel_id": standin_channel["id"]}, headers=lead
    )
    seq = (await client.get("/api/v1/events", params={"after": 0}, headers=lead)).json()[
        "latest_seq"
    ]

    rejected = fixture("template_status_update", "rejected")
    rejected["entry"][0]["id"] = standin_channel["waba_id"]
    rejected["entry"][0]["changes"][0]["value"]["message_template_id"] = 1  # unknown id: by name
    quality = fixture("template_quality_update", "yellow")
    quality["entry"][0]["id"] = standin_channel["waba_id"]
    quality["entry"][0]["changes"][0]["value"].update(message_template_name="order_confirmation",
                                                      message_template_language="en_US",
                                                      message_template_id=1)  # fmt: skip
    category = {"object": "whatsapp_business_account", "entry": [{"id": standin_channel["waba_id"], "time": 1,
        "changes": [{"field": "template_category_update", "value": {
            "message_template_id": 2, "message_template_name": "order_confirmation",
            "message_template_language": "en_US", "previous_category": "UTILITY",
            "new_category": "MARKETING"}}]}]}  # fmt: skip
    for body in (rejected, quality, category):
        answer = await post_webhook(client, body)
        assert answer.status_code == 200, answer.text

    listed = {t["name"]: t for t in await templates(client, lead, standin_channel["id"])}
    cart = listed["abandoned_cart"]
    assert cart["status"] == "REJECTED" and cart["offered"] is False
    assert cart["reason"].startswith(
        "INVALID_FORMAT — Your template has parameters placed next to each other"
    )
    order = listed["order_confirmation"]
    assert (order["quality"], order["category"], order["previous_category"]) == (
        "YELLOW",
        "MARKETING",
        "UTILITY",
    )
    events = (await client.get("/api/v1/events", params={"after": seq}, headers=lead)).json()[
        "items"
    ]
    updates = [e for e in events if e["type"] == "template.updated"]
    assert [e["data"]["template"]["name"] for e in updates] == ["abandoned_cart", "order_confirmation",
                                                                "order_confirmation"]  # fmt: skip

    paused = fixture("template_status_update", "approved")
    paused["entry"][0]["id"] = standin_channel["waba_id"]
    paused["entry"][0]["changes"][0]["value"].update(event="PAUSED", message_template_id=1,
                                                     message_template_language="en_US",
                                                     reason="The template got low-quality feedback.")  # fmt: skip
    assert (await post_webhook(client, paused)).status_code == 200
    listed = {t["name"]: t for t in await templates(client, lead, standin_channel["id"])}
    assert listed["order_confirmation"]["status"] == "PAUSED"
    assert listed["order_confirmation"]["reason"] == "The template got low-quality feedback."
    signed_by_another = await post_webhook(client, paused, secret="another-secret")
    assert signed_by_another.status_code == 401
