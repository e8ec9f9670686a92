"""Snooze: a chat put aside wakes by itself at its time (an arq job deferred on real Redis, run by
the real worker) or as soon as the customer writes — back to its holder, or to the queue when
the holder is away — with events, and its holder hears of a customer's answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from backend.config import Settings
from tests.conftest import login, unique
from tests.realtime.test_websocket import frames_until, token_of, ws_url
from tests.support.servers import LiveServer, LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


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
