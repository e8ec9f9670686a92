"""Conversation routes: thin handlers over the routing and outbound services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED
from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Team
from backend.conversations import notes, outbound, routing
from backend.conversations.labelling import label_conversation
from backend.conversations.labels import labelled
from backend.conversations.models import Contact, Conversation, ConversationStatus, Message
from backend.conversations.typing import request_typing
from backend.conversations.views import (
    conversation_json,
    conversations_json,
    message_json,
    messages_json,
)
from backend.conversations.visibility import get_visible, visible_clause
from backend.core.context import context_of
from backend.integrations.key_auth import API_SCOPE, reader_of
from backend.integrations.keys import ApiKeyPrincipal
from backend.integrations.models import Scope
from backend.media.routes import retry_inbound_media
from backend.media.views import has_media
from backend.quick_replies.variables import fill_for_conversation
from backend.realtime.events import commit_and_publish

AgentRequest = Request[CurrentAgent, Any, Any]
ReaderRequest = Request[CurrentAgent | ApiKeyPrincipal, Any, Any]
# Read routes that a business system's key with `conversations:read` may use too.
_KEYS_READ = {API_SCOPE: Scope.conversations_read.value}


class NoteBody(BaseModel):
    text: str = Field(max_length=4096)
    mentions: list[int] = Field(default_factory=list, max_length=20)


class LabelsBody(BaseModel):
    labels: list[str] = Field(max_length=20)


class FillBody(BaseModel):
    text: str = Field(max_length=4096)


class SnoozeBody(BaseModel):
    until: datetime


class TransferBody(BaseModel):
    team: str | None = None
    agent_id: int | None = None


class ConversationController(Controller):
    path = "/api/v1/conversations"
    tags = ["conversations"]

    @get("/", opt=_KEYS_READ)
    async def list_conversations(
        self, request: ReaderRequest, db_session: AsyncSession,
        status: ConversationStatus | None = None, team: str | None = None,
        assignee: str | None = Parameter(
            default=None, pattern=r"^(me|[0-9]{1,18})$", description="`me` or an agent id"
        ),
        q: str | None = Parameter(default=None, max_length=100),
        label: str | None = Parameter(default=None, max_length=50),
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        agent = reader_of(request.user)
        query = select(Conversation).where(visible_clause(agent))
        if status:
            query = query.where(col(Conversation.status) == status.value)
        if team:
            query = query.join(Team, col(Team.id) == col(Conversation.team_id)).where(
                col(Team.name) == team
            )
        if assignee:
            query = query.where(
                col(Conversation.assignee_id) == (agent.id if assignee == "me" else int(assignee))
            )
        if label:
            query = query.where(labelled(label))
        if q:
            pattern = f"%{q.strip().lower()}%"
            query = query.join(Contact, col(Contact.id) == col(Conversation.contact_id)).where(
                or_(
                    col(Contact.name).ilike(pattern),
                    col(Contact.wa_id).like(pattern.replace("+", "")),
                    col(Contact.username).ilike(pattern.replace("@", "")),
                )
            )
        query = query.order_by(
            col(Conversation.last_activity_at).desc(), col(Conversation.id).desc()
        ).limit(limit)
        conversations = list((await db_session.execute(query)).scalars())
        return {"items": await conversations_json(db_session, conversations)}

    @get("/{conversation_id:int}", opt=_KEYS_READ)
    async def get_conversation(
        self, request: ReaderRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        conversation = await get_visible(db_session, reader_of(request.user), conversation_id)
        return await conversation_json(db_session, conversation)

    @get("/{conversation_id:int}/messages", opt=_KEYS_READ)
    async def list_messages(
        self, request: ReaderRequest, db_session: AsyncSession, conversation_id: int,
        after: int | None = None, limit: int = Parameter(default=500, ge=1, le=2000),
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        await get_visible(db_session, reader_of(request.user), conversation_id)
        query = select(Message).where(col(Message.conversation_id) == conversation_id)
        if after is not None:
            query = query.where(col(Message.id) > after)
        messages = list(
            (await db_session.execute(query.order_by(col(Message.id)).limit(limit))).scalars()
        )
        return {"items": await messages_json(db_session, messages)}

    async def _act(
        self, request: AgentRequest, db_session: AsyncSession, outcome: routing.Outcome
    ) -> dict[str, Any]:
        # Auto-assign reacts to the events (a chat back in a queue, an agent with room again).
        await commit_and_publish(db_session, context_of(request).redis)
        return await conversation_json(db_session, outcome.conversation)

    @post("/{conversation_id:int}/claim", status_code=HTTP_200_OK)
    async def claim(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        return await self._act(
            request, db_session, await routing.claim(db_session, request.user, conversation_id)
        )

    @post("/{conversation_id:int}/release", status_code=HTTP_200_OK)
    async def release(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        return await self._act(
            request, db_session, await routing.release(db_session, request.user, conversation_id)
        )

    @post("/{conversation_id:int}/transfer", status_code=HTTP_200_OK)
    async def transfer(
        self,
        request: AgentRequest,
        db_session: AsyncSession,
        conversation_id: int,
        data: TransferBody,
    ) -> dict[str, Any]:
        outcome = await routing.transfer(
            db_session, request.user, conversation_id, team=data.team, agent_id=data.agent_id
        )
        return await self._act(request, db_session, outcome)

    @post("/{conversation_id:int}/resolve", status_code=HTTP_200_OK)
    async def resolve(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        return await self._act(
            request, db_session, await routing.resolve(db_session, request.user, conversation_id)
        )

    @post("/{conversation_id:int}/reopen", status_code=HTTP_200_OK)
    async def reopen(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        return await self._act(
            request, db_session, await routing.reopen(db_session, request.user, conversation_id)
        )

    @post("/{conversation_id:int}/messages", status_code=HTTP_202_ACCEPTED)
    async def send(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int, data: dict[str, Any],
        idempotency_key: str | None = Parameter(header="Idempotency-Key", default=None, max_length=255),
    ) -> Response[dict[str, Any]]:  # fmt: skip
        message, created = await outbound.agent_reply(
            db_session, request.user, conversation_id, data, idempotency_key
        )
        if created:
            await commit_and_publish(db_session, context_of(request).redis)
            assert message.id is not None
            await outbound.enqueue_send(context_of(request).queue, message.id, urgent=True)
        return Response(await message_json(db_session, message), status_code=HTTP_202_ACCEPTED)

    @put("/{conversation_id:int}/labels", status_code=HTTP_200_OK)
    async def set_labels(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int,
        data: LabelsBody,
    ) -> dict[str, Any]:  # fmt: skip
        """Replaces the conversation's labels (new names become labels); `conversation.updated`."""
        conversation = await label_conversation(
            db_session, request.user, conversation_id, data.labels
        )
        await commit_and_publish(db_session, context_of(request).redis)
        return await conversation_json(db_session, conversation)

    @post("/{conversation_id:int}/snooze", status_code=HTTP_200_OK)
    async def snooze(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int,
        data: SnoozeBody,
    ) -> dict[str, Any]:  # fmt: skip
        outcome = await routing.snooze(db_session, request.user, conversation_id, data.until)
        return await self._act(request, db_session, outcome)

    @post("/{conversation_id:int}/notes", status_code=HTTP_201_CREATED)
    async def add_note(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int, data: NoteBody
    ) -> dict[str, Any]:
        """A private note for colleagues; mentioned agents are let in and notified."""
        note = await notes.write_agent_note(
            db_session, request.user, conversation_id, data.text, data.mentions
        )
        await commit_and_publish(db_session, context_of(request).redis)
        return await message_json(db_session, note)

    @post("/{conversation_id:int}/fill", status_code=HTTP_200_OK)
    async def fill_variables(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int,
        data: FillBody,
    ) -> dict[str, Any]:  # fmt: skip
        """A quick reply's variables filled for this conversation: what the composer previews."""
        filled = await fill_for_conversation(db_session, request.user, conversation_id, data.text)
        return {"text": filled.text, "missing": filled.missing}

    @post("/{conversation_id:int}/typing", status_code=HTTP_200_OK)
    async def typing(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, bool]:
        """The holder is typing: "typing…" for the customer, at most once per 20 s."""
        context = context_of(request)
        sent = await request_typing(
            db_session, context.redis, context.queue, request.user, conversation_id
        )
        return {"sent": sent}

    @post("/{conversation_id:int}/read", status_code=HTTP_200_OK)
    async def mark_read(
        self, request: AgentRequest, db_session: AsyncSession, conversation_id: int
    ) -> dict[str, Any]:
        conversation = await get_visible(db_session, request.user, conversation_id)
        newest = await outbound.mark_conversation_read(db_session, request.user, conversation)
        await db_session.commit()
        if newest is not None:
            await outbound.enqueue_mark_read(context_of(request).queue, newest)
        return await conversation_json(db_session, conversation)


class MessageController(Controller):
    path = "/api/v1/messages"
    tags = ["conversations"]

    @post("/{message_id:int}/retry", status_code=HTTP_202_ACCEPTED)
    async def retry(
        self, request: AgentRequest, db_session: AsyncSession, message_id: int
    ) -> dict[str, Any]:
        inbound = await db_session.get(Message, message_id)
        if inbound is not None and inbound.direction == "inbound" and has_media(inbound.type):
            return await retry_inbound_media(request, db_session, message_id)  # fetch it again
        message = await outbound.retry_message(db_session, request.user, message_id)
        await commit_and_publish(db_session, context_of(request).redis)
        assert message.id is not None
        await outbound.enqueue_send(
            context_of(request).queue, message.id, attempt=f"retry-{uuid.uuid4().hex}", urgent=True
        )
        return await message_json(db_session, message)
