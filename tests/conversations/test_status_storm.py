"""A storm of delivery statuses, as a big template send brings back, posted concurrently to the
running app so that their webhooks are stored together (`bulk_statuses`): each message moves
forward only, every status applied is one `message.status` event routed to its conversation's
team and assignee, and each event's `data.message` is the message's REST JSON at that status."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event as sa_event
from sqlmodel import col, select

from backend.channels.base import StatusUpdate
from backend.channels.models import Channel
from backend.channels.sandbox.webhooks import new_wamid, status_webhook
from backend.conversations.bulk_ingest import IngestResult
from backend.conversations.bulk_statuses import StatusEntry, apply_statuses
from backend.conversations.models import Message, PendingStatus
from backend.core.context import AppContext
from backend.realtime.models import Event
from tests.conftest import login
from tests.support.whatsapp import CHANNEL, customer_says, find_conversation, new_wa_id
from tests.support.whatsapp import post_webhook as post

ERROR = {"code": 131026, "title": "Message undeliverable"}


def _webhook(statuses: list[tuple[str, str, str, int, dict[str, Any] | None]]) -> dict[str, Any]:
    """One webhook carrying several statuses: (wamid, status, recipient, timestamp, error)."""
    body = status_webhook(CHANNEL, "x", "sent", None)
    body["entry"][0]["changes"][0]["value"]["statuses"] = [
        status_webhook(CHANNEL, wamid, status, wa_id, error=error, timestamp=at)["entry"][0][
            "changes"
        ][0]["value"]["statuses"][0]
        for wamid, status, wa_id, at, error in statuses
    ]
    return body


async def test_a_status_storm_moves_each_message_forward_with_one_event_per_step(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    lead = await login(client, await make_agent("lead"))
    agent = await make_agent("agent")
    agent_headers = await login(client, agent)
    customers = [new_wa_id() for _ in range(3)]
    conversations = []
    for wa_id in customers:
        await customer_says(client, wa_id, "where is my order?")
        conversations.append(await find_conversation(client, lead, wa_id))
    claimed = await client.post(
        f"/api/v1/conversations/{conversations[0]['id']}/claim", headers=agent_headers
    )
    assert claimed.status_code == 200, claimed.text
    # Four outbound messages per customer, as a send leaves them (without running a worker).
    wamids: dict[str, tuple[str, dict[str, Any]]] = {}
    async with ctx.sessions() as session:
        for wa_id, conversation in zip(customers, conversations, strict=True):
            for n in range(4):
                wamid = new_wamid()
                wamids[wamid] = (wa_id, conversation)
                session.add(Message(
                    conversation_id=conversation["id"], channel_id=conversation["channel_id"],
                    direction="outbound", sender="agent", type="text", text=f"update {n}",
                    payload={"body": f"update {n}"}, status="sending", provider_message_id=wamid,
                ))  # fmt: skip
        await session.commit()

    now = int(time.time())
    # Per message: what arrives (in one webhook, in this order) and which statuses move it.
    plans = [
        ([("sent", 0), ("delivered", 1), ("read", 2)], ["sent", "delivered", "read"]),
        ([("read", 2), ("delivered", 3), ("read", 4)], ["read"]),  # late, twice: nothing more
        ([("sent", 0), ("failed", 1)], ["sent", "failed"]),
        ([("delivered", 1), ("failed", 2), ("sent", 3)], ["delivered"]),  # no undoing a delivery
    ]
    expected: dict[str, list[str]] = {}
    webhooks: list[list[tuple[str, str, str, int, dict[str, Any] | None]]] = [[] for _ in range(4)]
    for i, (wamid, (wa_id, _)) in enumerate(wamids.items()):
        arrives, moves = plans[i % len(plans)]
        expected[wamid] = moves
        webhooks[i % len(webhooks)].extend(
            (wamid, status, wa_id, now + at, ERROR if status == "failed" else None)
            for status, at in arrives
        )
    answers = await asyncio.gather(*(post(client, _webhook(w)) for w in webhooks))
    assert [a.status_code for a in answers] == [200] * len(webhooks), [a.text for a in answers]
    # Each answer counts the statuses it applied (a stale one moves nothing).
    assert sum(a.json()["statuses"] for a in answers) == sum(map(len, expected.values()))

    async with ctx.sessions() as session:
        events = list((await session.execute(
            select(Event).where(col(Event.type) == "message.status",
                                col(Event.conversation_id).in_([c["id"] for c in conversations]))
            .order_by(col(Event.seq))
        )).scalars())  # fmt: skip
    listed: dict[str, dict[str, Any]] = {}
    for conversation in conversations:
        page = await client.get(
            f"/api/v1/conversations/{conversation['id']}/messages", headers=lead
        )
        assert page.status_code == 200, page.text
        listed |= {m["provider_message_id"]: m for m in page.json()["items"]}
    by_wamid: dict[str, list[Event]] = {}
    for event in events:
        by_wamid.setdefault(event.data["message"]["provider_message_id"], []).append(event)
    assert set(by_wamid) == {w for w, moves in expected.items() if moves}
    for wamid, moves in expected.items():
        steps = by_wamid[wamid]
        assert [e.data["message"]["status"] for e in steps] == moves, wamid
        final = listed[wamid]
        assert final["status"] == moves[-1]
        assert final["error"] == (ERROR if moves[-1] == "failed" else None)
        conversation = wamids[wamid][1]
        for event in steps:
            assert event.conversation_id == conversation["id"]
            assert event.team_id == conversation["team_id"]
            # The claimed conversation's statuses go to its agent too.
            assert event.assignee_id == (agent["id"] if conversation is conversations[0] else None)
            state = event.data["message"]
            failed = state["status"] == "failed"
            # The event's message is the REST JSON, at the status that event moved it to.
            assert state == {**final, "status": state["status"], "error": ERROR if failed else None}


async def test_statuses_stored_together_with_their_message_in_the_group_see_it(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    """A status posted alongside many others, for a message stored moments before: found on the
    set path and stored once; an unknown one in the same group is kept pending, not lost."""
    lead = await login(client, await make_agent("lead"))
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hi")
    conversation = await find_conversation(client, lead, wa_id)
    wamid = new_wamid()
    async with ctx.sessions() as session:
        session.add(Message(
            conversation_id=conversation["id"], channel_id=conversation["channel_id"],
            direction="outbound", sender="agent", type="text", text="hello",
            payload={"body": "hello"}, status="sending", provider_message_id=wamid,
        ))  # fmt: skip
        await session.commit()
    unknown = new_wamid()
    bodies = [status_webhook(CHANNEL, wamid, "delivered", wa_id)] + [
        status_webhook(CHANNEL, unknown, "delivered", wa_id) for _ in range(5)
    ]
    answers = await asyncio.gather(*(post(client, b) for b in bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    async with ctx.sessions() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.provider_message_id) == wamid))
        ).scalar_one()
        assert stored.status == "delivered"
        events = list((await session.execute(
            select(Event).where(col(Event.type) == "message.status",
                                col(Event.conversation_id) == conversation["id"])
        )).scalars())  # fmt: skip
        pending = list((await session.execute(
            select(PendingStatus).where(col(PendingStatus.provider_message_id) == unknown)
        )).scalars())  # fmt: skip
    assert pending and {p.status for p in pending} == {"delivered"}
    assert [e.data["message"]["id"] for e in events] == [stored.id]
    assert events[0].data["message"]["status"] == "delivered"


async def test_a_set_of_statuses_costs_the_same_statements_whatever_its_size(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    """Ten statuses or forty, over several conversations: the same few statements (the messages,
    with their conversations' routing, one UPDATE), none per status or per event."""
    lead = await login(client, await make_agent("lead"))
    conversations = []
    for _ in range(4):
        wa_id = new_wa_id()
        await customer_says(client, wa_id, "hi")
        conversations.append(await find_conversation(client, lead, wa_id))
    async with ctx.sessions() as session:
        channel = await session.get(Channel, conversations[0]["channel_id"])
        assert channel is not None
        wamids = []
        for n in range(40):
            conversation = conversations[n % len(conversations)]
            wamids.append(new_wamid())
            session.add(Message(
                conversation_id=conversation["id"], channel_id=conversation["channel_id"],
                direction="outbound", sender="agent", type="text", text="hello",
                payload={"body": "hello"}, status="sending", provider_message_id=wamids[-1],
            ))  # fmt: skip
        await session.commit()

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    at = datetime.now(UTC)
    counted = []
    for part in (wamids[:10], wamids[10:]):
        entries = [
            StatusEntry(channel, StatusUpdate(CHANNEL, wamid, status, None, at), IngestResult())
            for status in ("sent", "delivered")
            for wamid in part
        ]
        async with ctx.sessions() as session:
            await session.connection()  # the transaction's BEGIN is not the set's
            statements.clear()
            sa_event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
            try:
                left, events = await apply_statuses(session, entries)
            finally:
                sa_event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)
            await session.rollback()
        assert left == [] and len(events) == len(entries)
        assert all(e.result.statuses_applied == 1 for e in entries)
        counted.append(len(statements))
    assert counted[0] == counted[1] <= 2, statements
