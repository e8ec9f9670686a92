"""Authorization between colleagues: idempotency keys, read receipts, contacts' consent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def _conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Hello there")
    return await find_conversation(client, headers, wa_id)


async def test_a_colleagues_idempotency_key_is_a_409_not_their_message(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    alice, bob = await make_agent("agent"), await make_agent("agent")
    a, b = await login(client, alice), await login(client, bob)
    conversation = await _conversation(client, a)
    cid = conversation["id"]
    assert (await client.post(f"/api/v1/conversations/{cid}/claim", headers=a)).is_success
    key = {"Idempotency-Key": unique("key")}
    sent = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "private to alice"},
        headers={**a, **key},
    )  # fmt: skip
    assert sent.status_code == 202
    again = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "again"}, headers={**a, **key}
    )
    assert again.status_code == 202 and again.json()["id"] == sent.json()["id"]
    foreign = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "x"}, headers={**b, **key}
    )
    assert foreign.status_code == 409, foreign.text
    assert "private to alice" not in foreign.text
    # Even once Bob holds the conversation, Alice's key stays hers.
    transfer = await client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"agent_id": bob["id"]}, headers=a
    )
    assert transfer.status_code == 200, transfer.text
    foreign = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "x"}, headers={**b, **key}
    )
    assert foreign.status_code == 409 and "private to alice" not in foreign.text
    messages = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=b)).json()
    assert [m["text"] for m in messages["items"] if m["direction"] == "outbound"] == [
        "private to alice"
    ]


async def test_only_the_holder_or_a_lead_marks_a_conversation_read(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    alice, bob, lead = (
        await make_agent("agent"),
        await make_agent("agent"),
        await make_agent("lead"),
    )
    a, b, lh = await login(client, alice), await login(client, bob), await login(client, lead)
    conversation = await _conversation(client, a)
    cid = conversation["id"]
    assert conversation["unread"] >= 1
    queued = await client.post(f"/api/v1/conversations/{cid}/read", headers=b)
    assert queued.status_code == 403, queued.text  # nobody holds it yet
    assert (await client.post(f"/api/v1/conversations/{cid}/claim", headers=a)).is_success
    refused = await client.post(f"/api/v1/conversations/{cid}/read", headers=b)
    assert refused.status_code == 403 and "holds" in refused.json()["detail"]
    still = (await client.get(f"/api/v1/conversations/{cid}", headers=a)).json()
    assert still["unread"] >= 1
    assert (await client.post(f"/api/v1/conversations/{cid}/read", headers=a)).json()["unread"] == 0
    assert (await client.post(f"/api/v1/conversations/{cid}/read", headers=lh)).status_code == 200


async def test_consent_is_shown_only_for_contacts_one_may_see(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    insider = await make_agent("agent", teams=["General"])
    outsider = await make_agent("agent", teams=[unique("Elsewhere")])
    lead = await make_agent("lead", teams=[])
    i, o, lh = (
        await login(client, insider),
        await login(client, outsider),
        await login(client, lead),
    )
    conversation = await _conversation(client, i)
    # Routed to General by the demo channel; the outsider's team never sees it.
    assert conversation["team"] == "General", conversation
    contact_id = conversation["contact"]["id"]
    assert (
        await client.get(f"/api/v1/contacts/{contact_id}/consent", headers=i)
    ).status_code == 200
    hidden = await client.get(f"/api/v1/contacts/{contact_id}/consent", headers=o)
    assert hidden.status_code == 404, hidden.text
    assert (
        await client.get(f"/api/v1/contacts/{contact_id}/consent", headers=lh)
    ).status_code == 200
    assert (await client.get("/api/v1/contacts/999999999/consent", headers=lh)).status_code == 404
