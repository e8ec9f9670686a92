"""Business-initiated messages: through an API key, to new and known customers, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.conversations.models import Contact
from backend.core.context import AppContext
from tests.conftest import login, unique
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id

# An approved template of the sandbox's library (the channel's library is checked).
ORDER_CONFIRMATION = {
    "name": "order_update",
    "language": {"code": "en"},
    "components": [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "A-1042"}],
        }
    ],
}


@pytest.fixture
async def sender(make_key: Any, worker: LiveWorker) -> dict[str, Any]:
    key: dict[str, Any] = await make_key("messages:send", name=unique("Shop"))
    return key


async def send(
    client: httpx.AsyncClient, key: dict[str, Any], body: dict[str, Any], idem: str | None = None
) -> httpx.Response:
    headers = key["headers"] | ({"Idempotency-Key": idem} if idem else {})
    return await client.post("/api/v1/messages", json=body, headers=headers)


async def sandbox_received(client: httpx.AsyncClient, wa_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get("/sandbox/api/messages", params={"wa_id": wa_id})
    ).json()
    return items


async def test_an_order_confirmation_reaches_a_new_customer_and_their_reply_joins_it(
    client: httpx.AsyncClient, sender: dict[str, Any], make_agent: Any
) -> None:
    wa_id = new_wa_id()
    response = await send(
        client, sender,
        {"to": f"+{wa_id}", "name": "Ada", "reference": "order-1042", "template": ORDER_CONFIRMATION},
        idem=unique("order"),
    )  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    message = body["message"]
    assert message["sender"] == "api" and message["api_key"]["name"] == sender["name"]
    assert message["status"] == "queued" and message["type"] == "template"
    assert message["reference"] == "order-1042"
    [received] = await eventually(lambda: sandbox_received(client, wa_id), what="the send")
    assert received["body"]["template"]["name"] == "order_update"

    async def status() -> str | None:
        got = await client.get(f"/api/v1/messages/{message['id']}", headers=sender["headers"])
        assert got.status_code == 200
        state: str = got.json()["status"]
        return state if state in ("delivered", "read") else None

    await eventually(status, what="delivered")
    await customer_says(client, wa_id, "Thanks! When does it ship?")
    lead = await login(client, await make_agent("lead"))
    conversation = await find_conversation(client, lead, wa_id)
    assert conversation["id"] == body["conversation_id"]
    items = (
        await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=lead)
    ).json()["items"]
    assert [m["sender"] for m in items] == ["api", "customer"]
    # An agent who may see the conversation reads the message's status too.
    assert (await client.get(f"/api/v1/messages/{message['id']}", headers=lead)).status_code == 200


async def test_a_known_customer_with_an_open_conversation_is_written_to_in_it(
    client: httpx.AsyncClient, sender: dict[str, Any], make_agent: Any
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Where is my parcel?")
    lead = await login(client, await make_agent("lead"))
    conversation = await find_conversation(client, lead, wa_id)
    response = await send(client, sender, {"to": wa_id, "text": "It left the warehouse today."})
    assert response.status_code == 202, response.text
    assert response.json()["conversation_id"] == conversation["id"]
    [received] = await eventually(lambda: sandbox_received(client, wa_id))
    assert received["body"]["text"]["body"] == "It left the warehouse today."


async def test_free_text_outside_the_window_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, sender: dict[str, Any], ctx: AppContext
) -> None:
    wa_id = new_wa_id()
    refused = await send(client, sender, {"to": wa_id, "text": "Hello there"})
    assert refused.status_code == 422 and "template" in refused.json()["detail"]
    async with ctx.sessions() as session:
        found = (await session.execute(select(Contact).where(col(Contact.wa_id) == wa_id))).first()
    assert found is None


async def test_an_opted_out_customer_is_a_409_with_the_reason(
    client: httpx.AsyncClient, sender: dict[str, Any], ctx: AppContext
) -> None:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "STOP")

    async def opted_out() -> bool:
        async with ctx.sessions() as session:
            contact = (
                await session.execute(select(Contact).where(col(Contact.wa_id) == wa_id))
            ).scalar_one()
            return contact.opted_out

    await eventually(opted_out, what="the opt-out")
    refused = await send(client, sender, {"to": wa_id, "template": ORDER_CONFIRMATION})
    assert refused.status_code == 409
    assert "opted out" in refused.json()["detail"] and "keyword" in refused.json()["detail"]
    await asyncio.sleep(0.5)
    assert not [
        m for m in await sandbox_received(client, wa_id) if m["body"].get("type") == "template"
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"template": {"language": {"code": "en"}}}, "name"),
        ({"template": {"name": "order_update"}}, "language"),
        ({"template": {**ORDER_CONFIRMATION, "name": "no_such_template"}}, "no_such_template"),
        ({"template": {**ORDER_CONFIRMATION, "components": []}}, "parameter"),
        ({"template": {**ORDER_CONFIRMATION, "components": "body"}}, "components"),
        ({"template": ORDER_CONFIRMATION, "text": "both"}, "exactly one"),
        ({}, "exactly one"),
    ],
)
async def test_a_bad_template_is_a_422_with_the_reason(
    client: httpx.AsyncClient, make_key: Any, body: dict[str, Any], reason: str
) -> None:
    key = await make_key("messages:send")
    refused = await send(client, key, {"to": new_wa_id(), **body})
    assert refused.status_code == 422 and reason in refused.json()["detail"], refused.text


async def test_bad_recipients_and_teams_are_422s(client: httpx.AsyncClient, make_key: Any) -> None:
    key = await make_key("messages:send")
    for body in (
        {"to": "not a number", "template": ORDER_CONFIRMATION},
        {"to": new_wa_id(), "template": ORDER_CONFIRMATION, "team": "No such team"},
    ):
        assert (await send(client, key, body)).status_code == 422


async def test_ten_concurrent_requests_with_one_key_send_once(
    client: httpx.AsyncClient, sender: dict[str, Any]
) -> None:
    wa_id = new_wa_id()
    idem = unique("idem")
    body = {"to": wa_id, "template": ORDER_CONFIRMATION}
    answers = await asyncio.gather(*(send(client, sender, body, idem) for _ in range(10)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["message"]["id"] for a in answers}) == 1
    await eventually(lambda: sandbox_received(client, wa_id))
    await asyncio.sleep(1.0)
    assert len(await sandbox_received(client, wa_id)) == 1


async def test_a_new_chat_for_a_named_team_waits_in_its_queue(
    client: httpx.AsyncClient, sender: dict[str, Any], make_agent: Any
) -> None:
    wa_id = new_wa_id()
    response = await send(
        client, sender, {"to": wa_id, "template": ORDER_CONFIRMATION, "team": "General"}
    )
    assert response.status_code == 202
    lead = await login(client, await make_agent("lead"))
    conversation = await find_conversation(client, lead, wa_id)
    assert conversation["status"] == "queued" and conversation["team"] == "General"


async def test_a_batch_reports_each_item_and_a_bad_one_costs_no_other(
    client: httpx.AsyncClient, sender: dict[str, Any]
) -> None:
    good = [new_wa_id() for _ in range(3)]
    items: list[dict[str, Any]] = [
        {"to": good[0], "template": ORDER_CONFIRMATION, "idempotency_key": unique("b")},
        {"to": "nope", "template": ORDER_CONFIRMATION},
        {"to": good[1], "text": "free text to a stranger"},
        {"template": ORDER_CONFIRMATION},
        {"to": good[2], "template": ORDER_CONFIRMATION, "reference": "r-3"},
    ]
    response = await client.post(
        "/api/v1/messages/batch", json={"messages": items}, headers=sender["headers"]
    )
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 422, 422, 202]
    assert results[3]["detail"].startswith("to:")
    assert results[4]["message"]["reference"] == "r-3"
    for wa_id in (good[0], good[2]):
        await eventually(lambda wa_id=wa_id: sandbox_received(client, wa_id))
    assert await sandbox_received(client, good[1]) == []
    again = await client.post(
        "/api/v1/messages/batch", json={"messages": items[:1]}, headers=sender["headers"]
    )
    assert again.json()["results"][0]["message"]["id"] == results[0]["message"]["id"]
    too_many = await client.post(
        "/api/v1/messages/batch", json={"messages": items * 201}, headers=sender["headers"]
    )
    assert too_many.status_code == 400


async def test_agents_cannot_send_as_the_api(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = await client.post(
        "/api/v1/messages", json={"to": new_wa_id(), "template": ORDER_CONFIRMATION}, headers=admin
    )
    assert refused.status_code == 403


async def test_a_bsuid_recipient_is_a_contact_without_a_number(
    client: httpx.AsyncClient, sender: dict[str, Any], ctx: AppContext
) -> None:
    """The worker then writes to it with `recipient` (the send path's own tests cover that)."""
    user_id = "US." + new_wa_id() + "0123456789"
    response = await send(client, sender, {"to": user_id, "template": ORDER_CONFIRMATION})
    assert response.status_code == 202, response.text
    async with ctx.sessions() as session:
        contact = (
            await session.execute(select(Contact).where(col(Contact.user_id) == user_id))
        ).scalar_one()
    assert contact.wa_id is None
    again = await send(client, sender, {"to": user_id, "template": ORDER_CONFIRMATION})
    assert again.json()["conversation_id"] == response.json()["conversation_id"]
