"""Template sends are checked against the synced library before they are written, reach the
sandbox phone as templates, keep their template and version, and are counted per template."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.conversations.models import Contact
from backend.core.context import AppContext
from backend.db.types import utcnow
from tests.conftest import login
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


@pytest.fixture
async def silent(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> dict[str, Any]:
    """A claimed conversation on the default (sandbox) channel whose 24-hour window is closed,
    with the channel's library synced."""
    lead = await login(client, await make_agent("lead"))
    synced = await client.post("/api/v1/templates/sync", headers=lead)
    assert synced.status_code == 200, synced.text
    agent = await make_agent("agent")
    headers = await login(client, agent)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Where is my parcel?")
    conversation = await find_conversation(client, headers, wa_id)
    assert (
        await client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=headers)
    ).status_code == 200
    async with ctx.sessions() as session:
        contact = (
            await session.execute(select(Contact).where(col(Contact.wa_id) == wa_id))
        ).scalar_one()
        contact.last_inbound_at = utcnow() - timedelta(hours=25)
        await session.commit()
    return {"id": conversation["id"], "wa_id": wa_id, "headers": headers, "lead": lead,
            "channel_id": conversation["channel_id"]}  # fmt: skip


def order_update(*values: str, language: str = "en") -> dict[str, Any]:
    return {"template": {"name": "order_update", "language": {"code": language}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}]}}  # fmt: skip


async def send(
    client: httpx.AsyncClient, silent: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{silent['id']}/messages", json=body, headers=silent["headers"]
    )


async def library(
    client: httpx.AsyncClient, silent: dict[str, Any], name: str
) -> dict[str, dict[str, Any]]:
    """The languages of `name` on the conversation's channel (other channels have libraries too)."""
    query = {"q": name, "channel_id": silent["channel_id"]}
    items = (await client.get("/api/v1/templates", params=query, headers=silent["lead"])).json()[
        "items"
    ]
    return {t["language"]: t for t in items if t["name"] == name}


async def test_wrong_sends_are_refused_before_anything_is_written(
    client: httpx.AsyncClient, silent: dict[str, Any]
) -> None:
    cases = [
        ({"template": {"name": "no_such_template", "language": "en"}}, "unknown"),
        ({"template": {"name": "order_update", "language": "fr"}}, "exists in de, en, es"),
        (order_update("Ana"), "needs 2 parameter(s), got 1"),
        (order_update("Ana", ""), "empty"),
        ({"template": {"name": "order_update", "language": "en"}}, "needs 2 parameter(s), got 0"),
    ]
    for body, reason in cases:
        refused = await send(client, silent, body)
        assert refused.status_code == 422, refused.text
        assert reason in refused.json()["detail"]
    messages = (
        await client.get(
            f"/api/v1/conversations/{silent['id']}/messages", headers=silent["headers"]
        )
    ).json()
    assert [m["direction"] for m in messages["items"]] == ["inbound"]


async def test_a_fitting_template_reaches_the_phone_and_is_counted(
    client: httpx.AsyncClient, silent: dict[str, Any]
) -> None:
    # The session's other tests may send this template of this channel too: count from here.
    german_before = (await library(client, silent, "order_update"))["de"]
    before = (
        await client.get(f"/api/v1/templates/{german_before['id']}/stats", headers=silent["lead"])
    ).json()
    accepted = await send(client, silent, order_update("Ana", "A-77", language="de"))
    assert accepted.status_code == 202, accepted.text
    message = accepted.json()
    assert (
        message["text"]
        == "Hallo Ana, deine Bestellung A-77 ist unterwegs. Antworte hier, wenn du Fragen hast."
    )
    german = (await library(client, silent, "order_update"))["de"]
    assert message["template"] == {
        "id": german["id"],
        "name": "order_update",
        "version": 1,
        "language": "de",
    }

    async def delivered() -> Any:
        items = (
            await client.get("/sandbox/api/messages", params={"wa_id": silent["wa_id"]})
        ).json()
        return items if items and items[-1]["status"] == "read" else None

    [received] = await eventually(delivered, within=15, what="the template at the phone")
    assert received["body"]["type"] == "template"
    assert received["body"]["template"]["name"] == "order_update"

    async def settled() -> Any:
        items = (
            await client.get(
                f"/api/v1/conversations/{silent['id']}/messages", headers=silent["headers"]
            )
        ).json()
        status = items["items"][-1]["status"]
        return status if status in ("delivered", "read") else None

    status = await eventually(settled, within=20, what="delivery receipts")
    stats = (
        await client.get(f"/api/v1/templates/{german['id']}/stats", headers=silent["lead"])
    ).json()
    grown = {key: stats[key] - before[key] for key in ("sent", "delivered", "read", "replied")}
    assert grown == {"sent": 1, "delivered": 1, "read": int(status == "read"), "replied": 0}
    assert (stats["failed"], stats["pending"]) == (before["failed"], before["pending"])
    await customer_says(client, silent["wa_id"], "Danke!")
    stats = (
        await client.get(f"/api/v1/templates/{german['id']}/stats", headers=silent["lead"])
    ).json()
    assert stats["replied"] - before["replied"] == 1
    sent_before = {row["language"]: row["sent"] for row in before["by_language"]}
    sent_after = {row["language"]: row["sent"] for row in stats["by_language"]}
    assert sent_after["de"] == sent_before.get("de", 0) + 1
    agent_view = await client.get(
        f"/api/v1/templates/{german['id']}/stats", headers=silent["headers"]
    )
    assert agent_view.status_code == 403


async def test_a_paused_template_is_refused_with_the_reason(
    client: httpx.AsyncClient, silent: dict[str, Any]
) -> None:
    spanish = (await library(client, silent, "conversation_follow_up"))["es"]
    paused = await client.post(f"/sandbox/api/templates/{spanish['provider_template_id']}/status",
                               json={"status": "PAUSED"})  # fmt: skip
    assert paused.status_code == 200, paused.text
    body = {"template": {"name": "conversation_follow_up", "language": "es", "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]}}  # fmt: skip

    async def refused() -> Any:
        answer = await send(client, silent, body)
        return answer if answer.status_code == 422 else None

    answer = await eventually(refused, within=10, what="the pause to arrive")
    assert "is PAUSED" in answer.json()["detail"]
    back = await client.post(f"/sandbox/api/templates/{spanish['provider_template_id']}/status",
                             json={"status": "APPROVED"})  # fmt: skip
    assert back.status_code == 200
    assert (await library(client, silent, "conversation_follow_up"))["es"]["status"] == "APPROVED"
    assert (await send(client, silent, body)).status_code == 202


async def test_a_template_can_be_tried_on_a_test_number_first(
    client: httpx.AsyncClient, silent: dict[str, Any]
) -> None:
    english = (await library(client, silent, "order_update"))["en"]
    url = f"/api/v1/templates/{english['id']}/test"
    missing = await client.post(url, json={}, headers=silent["lead"])
    assert missing.status_code == 422 and "needs 2 parameter(s)" in missing.json()["detail"]
    components = order_update("Tess", "T-1")["template"]["components"]
    tried = await client.post(url, json={"components": components}, headers=silent["lead"])
    assert tried.status_code == 200, tried.text
    assert tried.json()["to"] == "15550001234"
    assert tried.json()["text"].startswith("Hi Tess, your order T-1 is on its way.")
    phone = (await client.get("/sandbox/api/messages", params={"wa_id": "15550001234"})).json()
    assert phone[-1]["id"] == tried.json()["provider_message_id"]
    assert phone[-1]["body"]["template"]["name"] == "order_update"
    agent = await client.post(url, json={"components": components}, headers=silent["headers"])
    assert agent.status_code == 403
