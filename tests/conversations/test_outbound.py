"""Agents' replies through the real worker to the sandbox: once, in order, retried, visibly failed."""

from __future__ import annotations

import asyncio
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
async def held(client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker) -> dict[str, Any]:
    """A conversation that a fresh agent has claimed, with a running worker."""
    agent = await make_agent("agent")
    headers = await login(client, agent)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Hello, I have a question")
    conversation = await find_conversation(client, headers, wa_id)
    claimed = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=headers
    )
    assert claimed.status_code == 200
    return {"id": conversation["id"], "wa_id": wa_id, "headers": headers}


async def sandbox_received(client: httpx.AsyncClient, wa_id: str) -> list[dict[str, Any]]:
    response = await client.get("/sandbox/api/messages", params={"wa_id": wa_id})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items


async def message(
    client: httpx.AsyncClient, held: dict[str, Any], message_id: int
) -> dict[str, Any]:
    items = (
        await client.get(f"/api/v1/conversations/{held['id']}/messages", headers=held["headers"])
    ).json()["items"]
    return next(m for m in items if m["id"] == message_id)


async def reply(
    client: httpx.AsyncClient, held: dict[str, Any], body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = held["headers"] | ({"Idempotency-Key": key} if key else {})
    return await client.post(
        f"/api/v1/conversations/{held['id']}/messages", json=body, headers=headers
    )


async def test_a_reply_reaches_the_customer_and_is_read(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    response = await reply(client, held, {"text": "Your order ships today."})
    assert response.status_code == 202
    queued = response.json()
    assert (
        queued["status"] == "queued"
        and queued["direction"] == "outbound"
        and queued["sender"] == "agent"
    )
    [received] = await eventually(lambda: sandbox_received(client, held["wa_id"]))
    assert received["body"]["text"]["body"] == "Your order ships today."
    assert (
        received["body"]["messaging_product"] == "whatsapp"
        and received["body"]["to"] == held["wa_id"]
    )

    async def read() -> dict[str, Any] | None:
        current = await message(client, held, queued["id"])
        return current if current["status"] == "read" else None

    final = await eventually(read)
    assert final["provider_message_id"] == received["id"]


async def test_one_idempotency_key_sends_once(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    responses = await asyncio.gather(
        *(reply(client, held, {"text": "Only once"}, key="key-123") for _ in range(10))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    await eventually(lambda: sandbox_received(client, held["wa_id"]))
    await asyncio.sleep(0.5)
    assert len(await sandbox_received(client, held["wa_id"])) == 1


async def test_interactive_buttons_are_sent_as_the_cloud_api_object(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    interactive = {"type": "button", "body": {"text": "Did that help?"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
        {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}  # fmt: skip
    assert (await reply(client, held, {"interactive": interactive})).status_code == 202
    [received] = await eventually(lambda: sandbox_received(client, held["wa_id"]))
    assert (
        received["body"]["type"] == "interactive" and received["body"]["interactive"] == interactive
    )


async def test_rate_limited_sends_are_retried_until_sent(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    fault = await client.post(
        "/sandbox/api/faults", json={"code": 130429, "count": 2, "wa_id": held["wa_id"]}
    )
    assert fault.status_code == 201
    queued = (await reply(client, held, {"text": "Third time lucky"})).json()

    async def sent() -> dict[str, Any] | None:
        current = await message(client, held, queued["id"])
        return current if current["status"] in ("sent", "delivered", "read") else None

    final = await eventually(sent)
    assert final["attempts"] == 3
    assert len(await sandbox_received(client, held["wa_id"])) == 1


async def test_a_permanent_error_fails_visibly_and_can_be_retried(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    await client.post(
        "/sandbox/api/faults", json={"code": 131026, "count": 1, "wa_id": held["wa_id"]}
    )
    queued = (await reply(client, held, {"text": "Can you read this?"})).json()

    async def failed() -> dict[str, Any] | None:
        current = await message(client, held, queued["id"])
        return current if current["status"] == "failed" else None

    final = await eventually(failed)
    assert final["error"]["code"] == 131026 and final["error"]["title"]
    assert final["attempts"] == 1
    retried = await client.post(f"/api/v1/messages/{queued['id']}/retry", headers=held["headers"])
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    await eventually(lambda: sandbox_received(client, held["wa_id"]))
    again = await client.post(f"/api/v1/messages/{queued['id']}/retry", headers=held["headers"])
    assert again.status_code == 409


async def test_retries_exhausted_is_dead(
    client: httpx.AsyncClient, held: dict[str, Any], app_settings: Any
) -> None:
    await client.post(
        "/sandbox/api/faults", json={"code": 131000, "count": 100, "wa_id": held["wa_id"]}
    )
    try:
        queued = (await reply(client, held, {"text": "Into the void"})).json()

        async def dead() -> dict[str, Any] | None:
            current = await message(client, held, queued["id"])
            return current if current["status"] == "dead" else None

        final = await eventually(dead, within=20)
        assert final["attempts"] == app_settings.send_max_attempts
        assert final["error"]["code"] == 131000
    finally:
        await client.delete("/sandbox/api/faults")


async def test_messages_leave_in_the_order_written(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    await client.post(
        "/sandbox/api/faults", json={"code": 130429, "count": 1, "wa_id": held["wa_id"]}
    )
    texts = [f"part {n}" for n in range(1, 6)]
    for text in texts:
        assert (await reply(client, held, {"text": text})).status_code == 202

    async def all_arrived() -> list[dict[str, Any]] | None:
        items = await sandbox_received(client, held["wa_id"])
        return items if len(items) == len(texts) else None

    received = await eventually(all_arrived, within=15)
    assert [item["body"]["text"]["body"] for item in received] == texts


async def test_outside_the_window_only_templates_are_allowed(
    ctx: AppContext, client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    async with ctx.sessions() as session:
        contact = (
            await session.execute(select(Contact).where(col(Contact.wa_id) == held["wa_id"]))
        ).scalar_one()
        contact.last_inbound_at = utcnow() - timedelta(hours=25)
        await session.commit()
    refused = await reply(client, held, {"text": "Still there?"})
    assert refused.status_code == 422
    assert "24-hour" in refused.json()["detail"]
    template = {"template": {"name": "hello_world", "language": "en_US"}}
    accepted = await reply(client, held, template)
    assert accepted.status_code == 202
    [received] = await eventually(lambda: sandbox_received(client, held["wa_id"]))
    assert received["body"]["type"] == "template"
    assert received["body"]["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


async def test_only_the_assignee_replies(
    client: httpx.AsyncClient, held: dict[str, Any], make_agent: Any
) -> None:
    other = await login(client, await make_agent("agent"))
    response = await client.post(
        f"/api/v1/conversations/{held['id']}/messages", json={"text": "hi"}, headers=other
    )
    assert response.status_code == 409


async def test_bad_bodies_are_422(client: httpx.AsyncClient, held: dict[str, Any]) -> None:
    for body in ({}, {"text": ""}, {"text": "x" * 4097}, {"text": "a", "template": {"name": "x", "language": "en"}},
                 {"interactive": {"type": "carousel"}}):  # fmt: skip
        assert (await reply(client, held, body)).status_code == 422, body


async def test_opening_a_conversation_marks_it_read(
    client: httpx.AsyncClient, held: dict[str, Any]
) -> None:
    before = (
        await client.get(f"/api/v1/conversations/{held['id']}", headers=held["headers"])
    ).json()
    assert before["unread"] == 1
    after = await client.post(f"/api/v1/conversations/{held['id']}/read", headers=held["headers"])
    assert after.status_code == 200 and after.json()["unread"] == 0
