"""Snooze: a chat put aside wakes by itself at its time (an arq job deferred on real Redis, run by
the real worker) or as soon as the customer writes — back to its holder, or to the queue when
the holder is away — with events, and its holder hears of a customer's answer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlmodel import col, select
from websockets.asyncio.client import connect

from backend.channels.sandbox.webhooks import text_message_webhook
from backend.config import Settings
from backend.core.context import AppContext
from backend.realtime.models import Event
from tests.conftest import login, unique
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer, LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import (
    CHANNEL,
    customer_says,
    find_conversation,
    new_wa_id,
    post_webhook,
)


async def _held_chat(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, int]:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "can we talk tomorrow?", name=unique("Sam"))
    conversation = await find_conversation(client, headers, wa_id)
    claimed = await client.post(
        f"/api/v1/conversations/{conversation['id']}/claim", headers=headers
    )
    assert claimed.status_code == 200, claimed.text
    return wa_id, conversation["id"]


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_a_snoozed_chat_wakes_at_its_time_back_to_its_holder(
    server: LiveServer, client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker,
    app_settings: Settings,
) -> None:  # fmt: skip
    agent = await make_agent("agent")
    headers = await login(client, agent)
    _, cid = await _held_chat(client, headers)
    async with connect(ws_url(server, token_of(headers))) as socket:  # online meanwhile
        until = _in(2.5)
        snoozed = await client.post(
            f"/api/v1/conversations/{cid}/snooze", json={"until": until}, headers=headers
        )
        assert snoozed.status_code == 200, snoozed.text
        body = snoozed.json()
        assert body["status"] == "snoozed" and body["assignee"]["id"] == agent["id"]
        assert datetime.fromisoformat(body["snoozed_until"]) == datetime.fromisoformat(until)
        # The timer is a job deferred in Redis to that moment, enqueued by the event's reaction.
        redis = Redis.from_url(app_settings.redis_url or "")
        try:
            job_key = f"arq:job:wake:{cid}:{datetime.fromisoformat(until).timestamp():.3f}"
            assert await eventually(lambda: redis.exists(job_key), what="the deferred wake job")
        finally:
            await redis.aclose()
        frames = await frames_until(
            socket,
            lambda f: f["type"] == "conversation.woken" and f["conversation_id"] == cid,
            within=20,
        )
    snooze_event = next(
        f for f in frames if f["type"] == "conversation.snoozed" and f["conversation_id"] == cid
    )
    assert snooze_event["data"]["conversation"]["status"] == "snoozed"
    woken = frames[-1]
    assert woken["data"]["reason"] == "timer"
    assert datetime.fromisoformat(woken["at"]) >= datetime.fromisoformat(until)
    assert woken["data"]["conversation"]["status"] == "assigned"
    assert woken["data"]["conversation"]["assignee"]["id"] == agent["id"]
    assert woken["data"]["conversation"]["snoozed_until"] is None


async def test_the_customer_writing_wakes_it_and_tells_the_holder(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    agent = await make_agent("agent")
    headers = await login(client, agent)
    wa_id, cid = await _held_chat(client, headers)
    snoozed = await client.post(
        f"/api/v1/conversations/{cid}/snooze", json={"until": _in(3600)}, headers=headers
    )
    assert snoozed.status_code == 200
    await customer_says(client, wa_id, "actually, I am free now")
    # Written in the webhook's own transaction: awake the moment the webhook is answered. The
    # holder has no socket open (offline), so the chat goes back to its team's queue.
    now = (await client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    assert now["status"] == "queued" and now["assignee"] is None and now["snoozed_until"] is None

    async def answered() -> Any:
        items = (await client.get("/api/v1/me/notifications", headers=headers)).json()["items"]
        return [n for n in items if n["kind"] == "snoozed_answered" and n["conversation_id"] == cid]

    found = await eventually(answered, what="the holder's notification")
    assert len(found) == 1


async def test_who_may_snooze_and_what_until(client: httpx.AsyncClient, make_agent: Any) -> None:
    holder = await login(client, await make_agent("agent"))
    colleague = await login(client, await make_agent("agent"))
    lead = await login(client, await make_agent("lead"))
    _, cid = await _held_chat(client, holder)
    url = f"/api/v1/conversations/{cid}/snooze"
    refused = await client.post(url, json={"until": _in(600)}, headers=colleague)
    assert refused.status_code == 403 and "assignee" in refused.json()["detail"]
    past = await client.post(url, json={"until": _in(-60)}, headers=holder)
    assert past.status_code == 422 and "future" in past.json()["detail"]
    naive = await client.post(url, json={"until": "2030-01-01T09:00:00"}, headers=holder)
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    garbage = await client.post(url, json={"until": "tomorrow-ish"}, headers=holder)
    assert garbage.status_code == 400
    assert (await client.post(url, json={"until": _in(600)}, headers=lead)).status_code == 200
    listed = (
        await client.get("/api/v1/conversations", params={"status": "snoozed"}, headers=holder)
    ).json()
    assert cid in [c["id"] for c in listed["items"]]
    resolved = await client.post(f"/api/v1/conversations/{cid}/resolve", headers=holder)
    assert resolved.status_code == 200 and resolved.json()["snoozed_until"] is None


async def test_one_webhook_waking_several_chats_wakes_each_once_to_its_holder_or_queue(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext
) -> None:
    """The set-based path wakes a whole set at once: each chat back to its own holder when they
    are online, else to the queue; one `conversation.woken` each, after its messages."""
    online, away = await make_agent("agent"), await make_agent("agent")
    on_headers, away_headers = await login(client, online), await login(client, away)
    went = await client.post(
        "/api/v1/agents/me/presence", json={"presence": "online"}, headers=on_headers
    )
    assert went.status_code == 200, went.text
    chats = [await _held_chat(client, on_headers), await _held_chat(client, away_headers)]
    for (_, cid), headers in zip(chats, (on_headers, away_headers), strict=True):
        snoozed = await client.post(
            f"/api/v1/conversations/{cid}/snooze", json={"until": _in(3600)}, headers=headers
        )
        assert snoozed.status_code == 200, snoozed.text
    (wa_on, cid_on), (wa_away, cid_away) = chats
    now = int(time.time())
    said = [(wa_on, "back"), (wa_on, "again"), (wa_away, "me too")]
    bodies = [
        text_message_webhook(CHANNEL, wa, "Sam", text, timestamp=now + i)
        for i, (wa, text) in enumerate(said)
    ]
    body = bodies[0]
    value = body["entry"][0]["changes"][0]["value"]
    for other in bodies[1:]:  # one webhook carrying all three messages
        value["messages"] += other["entry"][0]["changes"][0]["value"]["messages"]
    response = await post_webhook(client, body)
    assert response.status_code == 200 and response.json()["messages"] == 3, response.text

    got = {
        cid: (await client.get(f"/api/v1/conversations/{cid}", headers=on_headers)).json()
        for cid in (cid_on, cid_away)
    }
    assert got[cid_on]["status"] == "assigned" and got[cid_on]["assignee"]["id"] == online["id"]
    assert got[cid_away]["status"] == "queued" and got[cid_away]["assignee"] is None
    assert got[cid_on]["snoozed_until"] is None and got[cid_away]["snoozed_until"] is None
    async with ctx.sessions() as session:
        query = select(Event).where(col(Event.conversation_id).in_([cid_on, cid_away]))
        events = list((await session.execute(query.order_by(col(Event.seq)))).scalars())
    for cid, holder, status, texts in (
        (cid_on, online, "assigned", 2), (cid_away, away, "queued", 1),
    ):  # fmt: skip
        own = [e for e in events if e.conversation_id == cid]
        woken = [e for e in own if e.type == "conversation.woken"]
        assert len(woken) == 1, [e.type for e in own]
        assert woken[0].data["reason"] == "customer"
        assert woken[0].data["holder_id"] == holder["id"]
        assert woken[0].data["conversation"]["status"] == status
        assert woken[0].assignee_id == (holder["id"] if status == "assigned" else None)
        after_snooze = own[[e.type for e in own].index("conversation.snoozed") + 1 :]
        assert [e.type for e in after_snooze] == ["message.created"] * texts + [
            "conversation.woken"
        ]
