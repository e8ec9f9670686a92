"""Webhooks arriving together are stored together (one set-based write per commit group), and
that changes nothing of what each one means: every message once, each customer in one open
conversation, the odd customer on the exact path, each answer counting its own messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.channels.sandbox.webhooks import (
    customer_message_webhook,
    new_wamid,
    status_webhook,
    text_message_webhook,
)
from backend.conversations.models import Contact, Conversation, Message, PendingStatus
from backend.core.context import AppContext
from backend.realtime.models import Event
from tests.support.whatsapp import CHANNEL, customer_says, new_wa_id, post_webhook


async def _rows(ctx: AppContext, query: Any) -> list[Any]:
    async with ctx.sessions() as session:
        return list((await session.execute(query)).scalars())


async def test_webhooks_stored_together_keep_every_rule_of_one_alone(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    returning, ann, bea = new_wa_id(), new_wa_id(), new_wa_id()
    await customer_says(client, returning, "I wrote before")
    before = await _rows(
        ctx,
        select(Conversation).join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(col(Contact.wa_id) == returning),
    )  # fmt: skip
    assert len(before) == 1 and before[0].unread_count == 1
    now = int(time.time())
    bsuid = f"US.{uuid.uuid4().hex[:16]}"
    first = text_message_webhook(CHANNEL, ann, "Ann", "one", wamid=new_wamid(), timestamp=now)
    bodies = [
        first,
        text_message_webhook(CHANNEL, ann, "Ann", "two", wamid=new_wamid(), timestamp=now + 1),
        text_message_webhook(CHANNEL, bea, "Bea", "hello", wamid=new_wamid(), timestamp=now),
        text_message_webhook(CHANNEL, returning, "Ret", "again", wamid=new_wamid(), timestamp=now),
        # Known only by BSUID: the exact path, in the same group.
        customer_message_webhook(
            CHANNEL,
            None,
            "Una",
            "text",
            {"body": "no number"},
            user_id=bsuid,
            username="una.groups",
        ),
        first,  # Meta's retry of the first, racing it
        status_webhook(CHANNEL, f"wamid.unknown{uuid.uuid4().hex}", "delivered", ann),
    ]
    responses = await asyncio.gather(*(post_webhook(client, body) for body in bodies))
    assert [r.status_code for r in responses] == [200] * len(bodies), [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert sum(a["messages"] for a in answers) == 5  # one, two, hello, again, no number
    assert sum(a["duplicates"] for a in answers) == 1
    assert answers[-1]["statuses"] == 1  # kept pending until its message is known

    wamids = [
        m["id"]
        for body in bodies
        for m in body["entry"][0]["changes"][0]["value"].get("messages", [])
    ]
    texts = {  # by this test's own wamids: other tests' customers say "one" and "two" too
        m.text: m
        for m in await _rows(
            ctx, select(Message).where(col(Message.provider_message_id).in_(wamids))
        )
    }
    assert set(texts) == {"one", "two", "hello", "again", "no number"}
    assert texts["one"].conversation_id == texts["two"].conversation_id  # one open conversation
    assert texts["again"].conversation_id == before[0].id  # the returning customer's, reused
    ann_conversation = await _rows(
        ctx, select(Conversation).where(col(Conversation.id) == texts["one"].conversation_id)
    )
    assert ann_conversation[0].unread_count == 2
    assert ann_conversation[0].last_message_id in (texts["one"].id, texts["two"].id)
    returned = await _rows(ctx, select(Conversation).where(col(Conversation.id) == before[0].id))
    assert returned[0].unread_count == 2 and returned[0].last_message_id == texts["again"].id
    una = await _rows(ctx, select(Contact).where(col(Contact.user_id) == bsuid))
    assert [(c.wa_id, c.username) for c in una] == [(None, "una.groups")]

    created = await _rows(
        ctx,
        select(Event).where(
            col(Event.type) == "conversation.created",
            col(Event.conversation_id).in_(
                [texts[t].conversation_id for t in ("one", "hello", "no number")]
            ),
        ),
    )
    assert sorted(e.conversation_id for e in created) == sorted(
        {texts[t].conversation_id for t in ("one", "hello", "no number")}
    )  # each new conversation announced once, with its customer
    by_id = {e.conversation_id: e.data["conversation"] for e in created}
    assert by_id[texts["hello"].conversation_id]["contact"]["wa_id"] == bea
    message_events = await _rows(
        ctx,
        select(Event).where(
            col(Event.type) == "message.created",
            col(Event.conversation_id).in_([m.conversation_id for m in texts.values()]),
        ),
    )
    seen = [e.data["message"]["id"] for e in message_events]
    assert sorted(seen) == sorted({m.id for m in texts.values()} | {before[0].last_message_id})
    pending = await _rows(
        ctx,
        select(PendingStatus).where(
            col(PendingStatus.provider_message_id)
            == bodies[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
        ),
    )
    assert len(pending) == 1


async def test_a_new_customer_made_meanwhile_by_another_process_is_a_race_run_again(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Another transaction inserts the same new customer after our read and commits while our
    insert waits on its key: the set's insert fails, the group runs again, sees that contact and
    stores the message in it (before, the webhook was answered 500)."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the race cannot happen")
    from backend.channels.models import Channel
    from backend.db.types import utcnow

    wa_id = new_wa_id()
    async with ctx.sessions() as session:
        channel = (
            await session.execute(select(Channel).where(col(Channel.phone_number_id) == CHANNEL))
        ).scalar_one()
        other = Contact(channel_id=channel.id, wa_id=wa_id, name="Made elsewhere",
                        created_at=utcnow(), updated_at=utcnow())  # fmt: skip
        session.add(other)
        await session.flush()  # the row exists, uncommitted: the webhook's insert waits on it
        posted = asyncio.create_task(customer_says(client, wa_id, "hello from the race"))
        await asyncio.sleep(0.5)
        await session.commit()
        contact_id = other.id
    await asyncio.wait_for(posted, 15)
    messages = await _rows(
        ctx,
        select(Message).join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(col(Conversation.contact_id) == contact_id),
    )  # fmt: skip
    assert [m.text for m in messages] == ["hello from the race"]
