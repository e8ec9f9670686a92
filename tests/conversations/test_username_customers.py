"""Customers with a WhatsApp username: known by BSUID when WhatsApp withholds their number.

Bodies follow Meta's BSUID webhooks: `contacts[].user_id`, `contacts[].profile.username`,
`messages[].from_user_id` (and `from_parent_user_id`), and no `from` when the number is withheld.
One person is one contact, whichever identifiers a webhook carries.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.channels.sandbox.webhooks import new_wamid
from backend.conversations.models import Contact
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import CHANNEL, new_wa_id, post_webhook


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


def new_bsuid() -> str:
    return "US." + "".join(secrets.choice("0123456789") for _ in range(20))


def webhook(
    text: str, *, wa_id: str | None = None, user_id: str | None = None,
    username: str | None = None, name: str = "Una User", parent: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    contact: dict[str, Any] = {"profile": {"name": name}}
    message: dict[str, Any] = {"id": new_wamid(), "timestamp": str(int(time.time())),
                               "type": "text", "text": {"body": text}}  # fmt: skip
    if username:
        contact["profile"]["username"] = username
    if wa_id:
        contact["wa_id"] = message["from"] = wa_id
    if user_id:
        contact["user_id"] = message["from_user_id"] = user_id
    if parent:
        contact["parent_user_id"] = message["from_parent_user_id"] = parent
    return {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": CHANNEL},
            "contacts": [contact], "messages": [message]}}]}]}  # fmt: skip


async def contacts_named(
    ctx: AppContext, *, wa_id: str | None = None, user_id: str | None = None
) -> list[Contact]:
    async with ctx.sessions() as session:
        query = select(Contact).order_by(col(Contact.id))
        rows = list((await session.execute(query)).scalars())
    return [c for c in rows if (wa_id and c.wa_id == wa_id) or (user_id and c.user_id == user_id)]


async def conversation_of(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: int
) -> dict[str, Any]:
    response = await client.get("/api/v1/conversations", headers=headers, params={"limit": 200})
    items = response.json()["items"]
    [found] = [c for c in items if c["contact"]["id"] == contact_id and c["status"] != "resolved"]
    return found


async def messages(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> list[str]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers
    )
    return [m["text"] for m in response.json()["items"]]


async def test_a_customer_with_only_a_bsuid_is_stored_and_shown_by_username(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    user_id, parent = new_bsuid(), "US.ENT.11815799212886844830"
    response = await post_webhook(
        client, webhook("hi, no number", user_id=user_id, username="una.k", parent=parent)
    )
    assert response.status_code == 200, response.text
    [contact] = await contacts_named(ctx, user_id=user_id)
    assert (contact.wa_id, contact.username, contact.parent_user_id) == (None, "una.k", parent)
    conversation = await conversation_of(client, lead_headers, contact.id or 0)
    expected = {"wa_id": None, "user_id": user_id, "username": "una.k", "name": "Una User"}
    assert expected.items() <= conversation["contact"].items()
    assert await messages(client, lead_headers, conversation["id"]) == ["hi, no number"]
    search = await client.get("/api/v1/conversations", headers=lead_headers, params={"q": "@una.k"})
    assert conversation["id"] in [c["id"] for c in search.json()["items"]]


async def test_phone_and_bsuid_together_make_one_contact_with_both(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    wa_id, user_id = new_wa_id(), new_bsuid()
    assert (
        await post_webhook(client, webhook("both", wa_id=wa_id, user_id=user_id))
    ).status_code == 200
    assert (await post_webhook(client, webhook("number only", wa_id=wa_id))).status_code == 200
    assert (await post_webhook(client, webhook("bsuid only", user_id=user_id))).status_code == 200
    [contact] = await contacts_named(ctx, wa_id=wa_id, user_id=user_id)
    assert (contact.wa_id, contact.user_id) == (wa_id, user_id)


async def test_first_by_bsuid_then_by_both_is_one_contact(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id, user_id = new_wa_id(), new_bsuid()
    await post_webhook(client, webhook("first, number withheld", user_id=user_id, username="pat"))
    await post_webhook(client, webhook("then with my number", wa_id=wa_id, user_id=user_id))
    [contact] = await contacts_named(ctx, wa_id=wa_id, user_id=user_id)
    assert (contact.wa_id, contact.user_id, contact.username) == (wa_id, user_id, "pat")
    conversation = await conversation_of(client, lead_headers, contact.id or 0)
    assert await messages(client, lead_headers, conversation["id"]) == [
        "first, number withheld",
        "then with my number",
    ]


async def test_a_number_contact_and_a_bsuid_contact_are_merged_when_one_webhook_names_both(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id, user_id = new_wa_id(), new_bsuid()
    await post_webhook(
        client, webhook("before usernames", wa_id=wa_id)
    )  # a contact made before BSUIDs
    await post_webhook(client, webhook("with a username", user_id=user_id, username="sam"))
    assert len(await contacts_named(ctx, wa_id=wa_id, user_id=user_id)) == 2
    await post_webhook(client, webhook("now both", wa_id=wa_id, user_id=user_id))
    [contact] = await contacts_named(ctx, wa_id=wa_id, user_id=user_id)
    assert (contact.wa_id, contact.user_id, contact.username) == (wa_id, user_id, "sam")
    conversation = await conversation_of(client, lead_headers, contact.id or 0)
    assert sorted(await messages(client, lead_headers, conversation["id"])) == sorted(
        ["before usernames", "with a username", "now both"]
    )


async def test_a_bsuid_held_by_another_number_stays_there(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    first, second, user_id = new_wa_id(), new_wa_id(), new_bsuid()
    await post_webhook(client, webhook("one", wa_id=first, user_id=user_id))
    assert (
        await post_webhook(client, webhook("two", wa_id=second, user_id=user_id))
    ).status_code == 200
    holders = await contacts_named(ctx, wa_id=second, user_id=user_id)
    assert [(c.wa_id, c.user_id) for c in holders] == [(first, user_id), (second, None)]


async def sandbox_customer(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/sandbox/api/inbound", json={"name": "Una", "text": "hello", **body})


@pytest.fixture
async def held_by_bsuid(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> dict[str, Any]:
    """A username customer (no number) writes through the sandbox; an agent claims the chat."""
    headers = await login(client, await make_agent("agent"))
    user_id = new_bsuid()
    response = await sandbox_customer(client, user_id=user_id, username="una_k")
    assert response.status_code == 200 and response.json()["webhook_status"] == 200, response.text
    [contact] = await contacts_named(ctx, user_id=user_id)
    conversation = await conversation_of(client, headers, contact.id or 0)
    assert (
        conversation["contact"]["wa_id"] is None and conversation["contact"]["username"] == "una_k"
    )
    claimed = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=headers
    )
    assert claimed.status_code == 200
    return {"id": conversation["id"], "user_id": user_id, "headers": headers}


async def outbound(
    client: httpx.AsyncClient, held: dict[str, Any], message_id: int
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/conversations/{held['id']}/messages", headers=held["headers"]
    )
    found: dict[str, Any] = next(m for m in response.json()["items"] if m["id"] == message_id)
    return found


async def test_a_reply_to_a_customer_without_a_number_goes_to_recipient(
    client: httpx.AsyncClient, held_by_bsuid: dict[str, Any]
) -> None:
    held = held_by_bsuid
    sent = await client.post(f"/api/v1/conversations/{held['id']}/messages", json={"text": "Hi Una!"},
                             headers=held["headers"])  # fmt: skip
    assert sent.status_code == 202, sent.text

    async def received() -> list[dict[str, Any]]:
        response = await client.get("/sandbox/api/messages", params={"user_id": held["user_id"]})
        items: list[dict[str, Any]] = response.json()
        return items

    [request] = await eventually(received, what="the send to the BSUID")
    body = request["body"]
    # The Cloud API's send body: no `to`, the BSUID in `recipient`.
    assert "to" not in body and body["recipient"] == held["user_id"]
    assert (body["messaging_product"], body["recipient_type"], body["type"]) == (
        "whatsapp",
        "individual",
        "text",
    )
    assert body["text"]["body"] == "Hi Una!"

    async def read() -> dict[str, Any] | None:
        current = await outbound(client, held, sent.json()["id"])
        return current if current["status"] == "read" else None

    # The statuses name the customer by recipient_user_id only, and still move the message on.
    assert (await eventually(read, what="read by BSUID"))["error"] is None


async def test_131062_is_a_permanent_failure_with_a_clear_title(
    client: httpx.AsyncClient, held_by_bsuid: dict[str, Any]
) -> None:
    held = held_by_bsuid
    fault = await client.post(
        "/sandbox/api/faults", json={"code": 131062, "count": 5, "wa_id": held["user_id"]}
    )
    assert fault.status_code == 201
    sent = await client.post(f"/api/v1/conversations/{held['id']}/messages", json={"text": "code 1234"},
                             headers=held["headers"])  # fmt: skip

    async def failed() -> dict[str, Any] | None:
        current = await outbound(client, held, sent.json()["id"])
        return current if current["status"] == "failed" else None

    final = await eventually(failed, what="131062 fails the message")
    assert final["error"]["code"] == 131062
    assert "Business-scoped user ID recipients not supported" in final["error"]["title"]
    faults = (await client.get("/sandbox/api/faults")).json()
    assert [f["remaining"] for f in faults if f.get("wa_id") == held["user_id"]] == [
        4
    ]  # tried once


async def test_the_sandbox_refuses_a_customer_with_neither_number_nor_bsuid(
    client: httpx.AsyncClient,
) -> None:
    for body in ({}, {"user_id": "not-a-bsuid"}, {"user_id": "US.123", "username": "bad name!"}):
        response = await sandbox_customer(client, **body)
        assert response.status_code == 422, body
