"""Private notes with @mentions: never sent to WhatsApp, shown to agents, a mention lets the
mentioned agent in (read and note, not reply) and notifies that agent alone, live and on reload."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.conftest import login, unique
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer, LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def _claimed_chat(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, int]:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "my parcel is late", name=unique("Nora"))
    conversation = await find_conversation(client, headers, wa_id)
    claimed = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=headers
    )
    assert claimed.status_code == 200, claimed.text
    return wa_id, conversation["id"]


async def _sent_to(client: httpx.AsyncClient, wa_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get("/sandbox/api/messages", params={"wa_id": wa_id})
    ).json()
    return items


async def test_a_note_never_reaches_the_graph_api(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    alice = await login(client, await make_agent("agent"))
    wa_id, cid = await _claimed_chat(client, alice)
    note = await client.post(f"/api/v1/conversations/{cid}/notes",
                             json={"text": "customer sounds upset, be gentle"}, headers=alice)  # fmt: skip
    assert note.status_code == 201, note.text
    body = note.json()
    assert body["type"] == "note" and body["private"] is True and body["status"] == "sent"
    assert body["sender_agent"]["id"] is not None
    reply = await client.post(f"/api/v1/conversations/{cid}/messages",
                              json={"text": "Sorry about that, checking now"}, headers=alice)  # fmt: skip
    assert reply.status_code == 202
    # The reply was written after the note and reached the Graph stand-in: the worker had its
    # chance to send the note too, and did not.
    sent = await eventually(lambda: _sent_to(client, wa_id), what="the reply at the Graph API")
    texts = [m["body"].get("text", {}).get("body") for m in sent]
    assert texts == ["Sorry about that, checking now"]
    thread = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=alice)).json()
    notes = [m for m in thread["items"] if m["type"] == "note"]
    assert [n["text"] for n in notes] == ["customer sounds upset, be gentle"]
    # A note is not an answer: the first response is the reply's time, not the note's.
    conversation = (await client.get(f"/api/v1/conversations/{cid}", headers=alice)).json()
    assert conversation["first_response_at"] is not None
    reply_at = next(
        m for m in thread["items"] if m["type"] == "text" and m["direction"] == "outbound"
    )
    assert conversation["first_response_at"] == reply_at["created_at"]


async def test_bad_notes_are_refused_with_the_reason(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    alice = await login(client, await make_agent("agent"))
    _, cid = await _claimed_chat(client, alice)
    empty = await client.post(
        f"/api/v1/conversations/{cid}/notes", json={"text": "  "}, headers=alice
    )
    assert empty.status_code == 422 and "text" in empty.json()["detail"]
    ghost = await client.post(f"/api/v1/conversations/{cid}/notes",
                              json={"text": "hi", "mentions": [987654321]}, headers=alice)  # fmt: skip
    assert ghost.status_code == 422 and "987654321" in ghost.json()["detail"]
    outsider = await login(client, await make_agent("agent", teams=[unique("Else")]))
    hidden = await client.post(
        f"/api/v1/conversations/{cid}/notes", json={"text": "x"}, headers=outsider
    )
    assert hidden.status_code == 404


async def test_a_mention_lets_in_and_notifies_only_that_agent(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    alice_agent = await make_agent("agent", name=unique("Alice"))
    alice = await login(client, alice_agent)
    billing = unique("Billing")
    bob_agent = await make_agent("agent", teams=[billing], name=unique("Bob"))
    bob = await login(client, bob_agent)
    carol = await login(client, await make_agent("agent", teams=[billing]))
    lead = await login(client, await make_agent("lead"))
    _, cid = await _claimed_chat(client, alice)
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=bob)).status_code == 404
    async with connect(ws_url(server, token_of(bob))) as bob_socket:
        note = await client.post(
            f"/api/v1/conversations/{cid}/notes",
            json={"text": f"@{bob_agent['name']} can you check the refund?", "mentions": [bob_agent["id"]]},
            headers=alice,
        )  # fmt: skip
        assert note.status_code == 201, note.text
        frames = await frames_until(
            bob_socket, lambda f: f["type"] == "notification.created", within=20
        )
        live = frames[-1]["data"]["notification"]
        assert live["kind"] == "mention" and live["conversation_id"] == cid
        assert alice_agent["name"] in live["text"] and not live["read"]
        # From now on Bob's socket carries this conversation's events too.
        await client.post(
            f"/api/v1/conversations/{cid}/notes", json={"text": "thanks!"}, headers=alice
        )
        later = await frames_until(
            bob_socket, lambda f: f["type"] == "message.created" and f["conversation_id"] == cid
        )
        assert later[-1]["data"]["message"]["text"] == "thanks!"
    # Bob may read and write notes, and the chat is in his list; replying needs a claim.
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=bob)).status_code == 200
    assert (
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=bob)
    ).status_code == 200
    listed = (await client.get("/api/v1/conversations", headers=bob)).json()["items"]
    assert cid in [c["id"] for c in listed]
    answer = await client.post(
        f"/api/v1/conversations/{cid}/notes", json={"text": "on it"}, headers=bob
    )
    assert answer.status_code == 201
    refused = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "hello"}, headers=bob
    )
    assert refused.status_code == 409
    # Carol (same team as Bob, not mentioned) still cannot see it, and nobody else was notified.
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=carol)).status_code == 404
    on_reload = (await client.get("/api/v1/me/notifications", headers=bob)).json()
    assert [n["kind"] for n in on_reload["items"]] == ["mention"] and on_reload["unread"] == 1
    for other in (carol, lead, alice):
        assert (await client.get("/api/v1/me/notifications", headers=other)).json()["items"] == []
        replay = (
            await client.get("/api/v1/events", params={"after": 0, "limit": 1000}, headers=other)
        ).json()
        assert not [e for e in replay["items"] if e["type"] == "notification.created"
                    and e["data"]["notification"]["id"] == live["id"]]  # fmt: skip


async def test_read_and_read_all(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    alice = await login(client, await make_agent("agent"))
    bob_agent = await make_agent("agent")
    bob = await login(client, bob_agent)
    _, cid = await _claimed_chat(client, alice)
    for text in ("first", "second", "third"):
        await client.post(f"/api/v1/conversations/{cid}/notes",
                          json={"text": text, "mentions": [bob_agent["id"]]}, headers=alice)  # fmt: skip

    async def three() -> Any:
        listing = (await client.get("/api/v1/me/notifications", headers=bob)).json()
        return listing if listing["unread"] == 3 else None

    listing = await eventually(three, what="three mentions")
    newest = listing["items"][0]
    assert newest["data"]["excerpt"] == "third"
    read = await client.post(f"/api/v1/me/notifications/{newest['id']}/read", headers=bob)
    assert read.status_code == 200 and read.json()["read"] is True
    assert (await client.get("/api/v1/me/notifications", headers=bob)).json()["unread"] == 2
    not_hers = await client.post(f"/api/v1/me/notifications/{newest['id']}/read", headers=alice)
    assert not_hers.status_code == 404
    assert (await client.post("/api/v1/me/notifications/read-all", headers=bob)).json() == {
        "marked": 2
    }
    after = (
        await client.get("/api/v1/me/notifications", params={"unread": True}, headers=bob)
    ).json()
    assert after == {"items": [], "unread": 0}


async def test_a_transfer_to_me_notifies_me(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    alice = await login(client, await make_agent("agent"))
    bob_agent = await make_agent("agent")
    bob = await login(client, bob_agent)
    _, cid = await _claimed_chat(client, alice)
    moved = await client.post(f"/api/v1/conversations/{cid}/transfer",
                              json={"agent_id": bob_agent["id"]}, headers=alice)  # fmt: skip
    assert moved.status_code == 200, moved.text

    async def transferred() -> Any:
        items = (await client.get("/api/v1/me/notifications", headers=bob)).json()["items"]
        return [n for n in items if n["kind"] == "transferred" and n["conversation_id"] == cid]

    found = await eventually(transferred, what="the transfer notification")
    assert len(found) == 1
    # Alice claimed it herself: no notification for her own claim.
    assert (await client.get("/api/v1/me/notifications", headers=alice)).json()["items"] == []
