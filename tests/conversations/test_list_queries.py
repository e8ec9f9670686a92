"""A list of conversations costs the same number of queries for 5 as for 20 (it cost two per row
and more: a file not yet stored, a template send, an SLA summary each took their own query), and
every row still shows its contact, team, assignee, last message (its sender, API key, file and
template), labels and SLA state."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlmodel import col, select

from backend.agents.models import Team
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationLabel,
    Label,
    Message,
)
from backend.conversations.views import conversations_json
from backend.core.context import AppContext
from backend.db.types import utcnow
from backend.integrations.models import ApiKey
from backend.media.models import MediaState, MessageMedia
from backend.sla.models import SlaClock
from backend.templates.models import Template, TemplateSend
from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id

KINDS = ("agent", "api_key", "image_stored", "image_pending", "template")


async def _conversations(ctx: AppContext, channel_id: int, agent_id: int, count: int) -> list[int]:
    """`count` conversations whose last messages cycle through every kind the JSON looks up."""
    async with ctx.sessions() as session:
        team = Team(name=unique("team"))
        key = ApiKey(name=unique("erp"), prefix=unique("k")[:16],
                     key_hash=hashlib.sha256(unique().encode()).hexdigest())  # fmt: skip
        template = Template(channel_id=channel_id, name=unique("order"), language="en",
                            category="UTILITY", status="APPROVED")  # fmt: skip
        label = Label(name=unique("vip")[:50])
        session.add_all([team, key, template, label])
        await session.flush()
        ids = []
        for n in range(count):
            contact = Contact(channel_id=channel_id, wa_id=new_wa_id(), name=f"Customer {n}")
            session.add(contact)
            await session.flush()
            assert contact.id is not None and team.id is not None
            conversation = Conversation(channel_id=channel_id, contact_id=contact.id,
                                        team_id=team.id, assignee_id=agent_id, status="assigned")  # fmt: skip
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            kind = KINDS[n % len(KINDS)]
            message = Message(
                conversation_id=conversation.id, channel_id=channel_id,
                direction="inbound" if kind.startswith("image") else "outbound",
                sender="customer" if kind.startswith("image") else "agent",
                sender_agent_id=agent_id if kind == "agent" else None,
                sender_api_key_id=key.id if kind == "api_key" else None,
                type="image" if kind.startswith("image") else ("template" if kind == "template" else "text"),
                text=f"message {n}", payload={"mime_type": "image/jpeg"}, status="sent",
            )  # fmt: skip
            session.add(message)
            await session.flush()
            assert message.id is not None and template.id is not None and label.id is not None
            conversation.last_message_id = message.id
            if kind == "image_stored":
                session.add(MessageMedia(message_id=message.id, kind="image", size=10,
                                         state=MediaState.stored.value))  # fmt: skip
            if kind == "template":
                session.add(TemplateSend(message_id=message.id, template_id=template.id,
                                         version=1, language="en"))  # fmt: skip
            session.add(ConversationLabel(conversation_id=conversation.id, label_id=label.id))
            session.add(SlaClock(conversation_id=conversation.id, kind="first_response",
                                 target_seconds=60, started_at=utcnow(),
                                 due_at=utcnow() + timedelta(minutes=1)))  # fmt: skip
            ids.append(conversation.id)
        await session.commit()
    return ids


async def _serialized(ctx: AppContext, ids: list[int]) -> tuple[int, list[dict[str, Any]]]:
    """The statements the list's serialization ran, counted on the engine, and what it gave."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with ctx.sessions() as session:
            rows = list(
                (
                    await session.execute(
                        select(Conversation)
                        .where(col(Conversation.id).in_(ids))
                        .order_by(col(Conversation.id))
                    )
                ).scalars()
            )
            statements.clear()
            items = await conversations_json(session, rows)
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)
    return len(statements), items


async def test_a_list_costs_the_same_queries_for_5_and_20(
    client: httpx.AsyncClient, ctx: AppContext, make_agent: Any
) -> None:
    agent = await make_agent("agent", name=unique("Alice"))
    headers = await login(client, agent)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hello")
    channel_id = (await find_conversation(client, headers, wa_id))["channel_id"]

    small, small_items = await _serialized(
        ctx, await _conversations(ctx, channel_id, agent["id"], 5)
    )
    large, large_items = await _serialized(
        ctx, await _conversations(ctx, channel_id, agent["id"], 20)
    )
    assert len(small_items) == 5 and len(large_items) == 20
    assert small == large, f"{small} statements for 5 conversations, {large} for 20"
    assert large <= 10

    for n, item in enumerate(large_items):
        kind = KINDS[n % len(KINDS)]
        last = item["last_message"]
        assert item["contact"]["name"] == f"Customer {n}"
        assert item["team"] is not None and item["team"].startswith("team-")
        assert item["assignee"] == {"id": agent["id"], "name": agent["name"]}
        assert len(item["labels"]) == 1 and item["labels"][0].startswith("vip-")
        assert item["sla"] is not None and item["sla"]["state"] == "running"
        assert last["text"] == f"message {n}"
        assert (last["sender_agent"] is not None) == (kind == "agent")
        if kind == "agent":
            assert last["sender_agent"]["name"] == agent["name"]
        assert (last["api_key"] is not None) == (kind == "api_key")
        if kind == "api_key":
            assert last["api_key"]["name"].startswith("erp-")
        if kind.startswith("image"):
            assert last["media"]["state"] == ("stored" if kind == "image_stored" else "pending")
        else:
            assert last["media"] is None
        if kind == "template":
            assert last["template"]["name"].startswith("order-")
            assert last["template"]["version"] == 1
        else:
            assert "template" not in last
