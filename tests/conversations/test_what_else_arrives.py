"""What else a Cloud API webhook carries: errors on a customer's message, `system` messages,
click-to-WhatsApp `referral`s, and the `pricing` of our messages on their statuses."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.channels.sandbox.webhooks import new_wamid, status_webhook
from backend.conversations.models import Contact, Message
from backend.core.context import AppContext
from tests.conftest import login
from tests.support.whatsapp import (
    CHANNEL,
    customer_says,
    find_conversation,
    new_wa_id,
    post_webhook,
)

FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "fixtures" / "pywa"


@pytest.fixture
async def lead_headers(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("lead"))


def fixture(file: str, case: str, wa_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / file).read_text())[case]
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = CHANNEL
    for message in value.get("messages", []):
        message["from"], message["id"], message["timestamp"] = (
            wa_id,
            new_wamid(),
            str(int(time.time())),
        )
    for contact in value.get("contacts", []):
        contact["wa_id"] = wa_id
        contact.pop("user_id", None)
    return body


async def only_message(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = await find_conversation(client, headers, wa_id)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
    )
    [message] = response.json()["items"]
    return conversation, message


async def test_errors_on_an_inbound_message_are_kept_and_shown(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    assert (
        await post_webhook(client, fixture("message.json", "unsupported", wa_id))
    ).status_code == 200
    _, message = await only_message(client, lead_headers, wa_id)
    assert message["type"] == "unsupported" and message["error"]["code"] == 131051


async def test_a_referral_is_the_conversations_source(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    assert (
        await post_webhook(client, fixture("message.json", "referral", wa_id))
    ).status_code == 200
    conversation, message = await only_message(client, lead_headers, wa_id)
    assert conversation["source"] == "ad" and conversation["referral"]["source_id"] == "ADID"
    assert message["payload"]["referral"]["source_id"] == "ADID"


async def test_a_system_message_comes_from_system(
    client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id, new = new_wa_id(), new_wa_id()
    assert (await post_webhook(client, number_change(wa_id, new))).status_code == 200
    _, message = await only_message(client, lead_headers, new)  # the contact moved with it
    assert (message["sender"], message["type"]) == ("system", "system") and "changed" in message[
        "text"
    ]


async def test_pricing_on_statuses_is_stored_per_message(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    wa_id = new_wa_id()
    body = fixture("message.json", "text", wa_id)
    assert (await post_webhook(client, body)).status_code == 200
    conversation = await find_conversation(client, lead_headers, wa_id)
    wamid = new_wamid()
    async with ctx.sessions() as session:  # an outbound message as the worker leaves it: sent
        session.add(Message(conversation_id=conversation["id"], channel_id=conversation["channel_id"],
                            direction="outbound", sender="agent", text="hi", status="sent",
                            provider_message_id=wamid))  # fmt: skip
        await session.commit()
    delivered = status_webhook(CHANNEL, wamid, "delivered", wa_id)
    delivered["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] = {
        "billable": True, "pricing_model": "PMP", "category": "utility"}  # fmt: skip
    assert (await post_webhook(client, delivered)).status_code == 200
    async with ctx.sessions() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.provider_message_id) == wamid))
        ).scalar_one()
    assert (stored.status, stored.pricing_category, stored.pricing_model, stored.billable) == (
        "delivered", "utility", "PMP", True)  # fmt: skip


async def contact_of(ctx: AppContext, **key: str) -> list[Contact]:
    async with ctx.sessions() as session:
        query = select(Contact).where(
            *(getattr(Contact, name) == value for name, value in key.items())
        )
        return list((await session.execute(query)).scalars())


def number_change(old: str, new: str) -> dict[str, Any]:
    body = fixture("system.json", "phone_number_change", old)
    system = body["entry"][0]["changes"][0]["value"]["messages"][0]["system"]
    system["wa_id"], system["body"] = new, f"User A changed from {old} to {new}"
    return body


async def test_a_changed_number_moves_the_contact_and_its_conversation(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    old, new = new_wa_id(), new_wa_id()
    await customer_says(client, old, "My order is late")
    before = await find_conversation(client, lead_headers, old)
    assert (await post_webhook(client, number_change(old, new))).status_code == 200
    await customer_says(client, new, "Writing from my new phone")
    after = await find_conversation(client, lead_headers, new)
    assert after["id"] == before["id"]  # the same person, the same conversation
    assert await contact_of(ctx, wa_id=old) == []
    messages = (
        await client.get(f"/api/v1/conversations/{after['id']}/messages", headers=lead_headers)
    ).json()["items"]
    assert [m["sender"] for m in messages] == ["customer", "system", "customer"]
    assert f"to {new}" in messages[1]["text"]  # the note saying why the number changed


async def test_a_changed_number_already_known_joins_its_contact(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    old, new = new_wa_id(), new_wa_id()
    await customer_says(client, old, "From the old phone")
    await customer_says(client, new, "From the new phone, before WhatsApp said so")
    assert (await post_webhook(client, number_change(old, new))).status_code == 200
    [kept] = await contact_of(ctx, wa_id=new)
    assert await contact_of(ctx, wa_id=old) == []
    conversation = await find_conversation(client, lead_headers, new)
    texts = [
        m["text"]
        for m in (
            await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=lead_headers
            )
        ).json()["items"]
    ]
    assert {"From the old phone", "From the new phone, before WhatsApp said so"} <= set(texts)
    assert conversation["contact"]["id"] == kept.id


def state_sync(items: list[Any]) -> dict[str, Any]:
    """An `smb_app_state_sync` body, shaped like Meta's webhook reference."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "smb_app_state_sync",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881", "phone_number_id": CHANNEL},
                  "state_sync": items},
    }]}]}  # fmt: skip


def synced(wa_id: str, name: str, action: str = "add") -> dict[str, Any]:
    return {"type": "contact", "action": action,
            "contact": {"full_name": name, "first_name": name.split()[0], "phone_number": f"+{wa_id}"},
            "metadata": {"timestamp": str(int(time.time()))}}  # fmt: skip


async def test_business_app_contacts_become_and_rename_contacts(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    known, fresh, removed = new_wa_id(), new_wa_id(), new_wa_id()
    await customer_says(client, known, "Hello", name="carla88")
    await customer_says(client, removed, "Hi")
    body = state_sync([
        synced(known, "Carla Gomez (bakery)", "edit"), synced(fresh, "Dan Brown"),
        {"type": "contact", "action": "add", "contact": {"full_name": "No number"}},
        synced(removed, "Old Supplier", "remove"),
    ])  # fmt: skip
    response = await post_webhook(client, body)
    assert response.status_code == 200, response.text
    [carla] = await contact_of(ctx, wa_id=known)
    [dan] = await contact_of(ctx, wa_id=fresh)
    [kept] = await contact_of(ctx, wa_id=removed)  # the phone's address book is not our history
    assert (carla.name, dan.name, kept.name) == (
        "Carla Gomez (bakery)",
        "Dan Brown",
        "Carla Customer",
    )
    assert dan.last_inbound_at is None  # a saved contact has not opened the window
    assert await post_webhook(client, body) is not None  # a retry changes nothing
    assert len(await contact_of(ctx, wa_id=fresh)) == 1


async def test_group_events_and_group_messages_are_answered_and_not_stored(
    ctx: AppContext, client: httpx.AsyncClient, lead_headers: dict[str, str]
) -> None:
    lifecycle = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "group_lifecycle_update",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881", "phone_number_id": CHANNEL},
                  "groups": [{"timestamp": "1750269342", "group_id": "Y2FwaV9ncm91cDox",
                              "type": "group_create", "request_id": "784D93D0"}]},
    }]}]}  # fmt: skip
    assert (await post_webhook(client, lifecycle)).status_code == 200
    member, customer = new_wa_id(), new_wa_id()
    body = fixture("message.json", "text", customer)
    value = body["entry"][0]["changes"][0]["value"]
    in_group = {
        **value["messages"][0],
        "id": new_wamid(),
        "from": member,
        "group_id": "Y2FwaV9ncm91cDox",
    }
    value["messages"].append(in_group)
    assert (await post_webhook(client, body)).status_code == 200
    await find_conversation(client, lead_headers, customer)  # the 1:1 message beside it is stored
    assert await contact_of(ctx, wa_id=member) == []
    async with ctx.sessions() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.provider_message_id) == in_group["id"]))
        ).first()  # fmt: skip
    assert stored is None
    metrics = (await client.get("/metrics")).text
    assert (
        'switchboard_webhook_group_items_total{kind="group_message",provider="whatsapp"}' in metrics
    )
    assert 'kind="group_lifecycle_update"' in metrics
