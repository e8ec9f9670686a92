"""Quick replies: every agent reads and searches them; admins manage them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.exceptions import ClientException
from litestar.params import Parameter
from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.core.context import context_of
from backend.quick_replies import services
from backend.quick_replies.models import QuickReply
from backend.realtime.events import commit_and_publish

AgentRequest = Request[CurrentAgent, Any, Any]

SHORTCUT = r"^[a-z0-9][a-z0-9_-]*$"


class QuickReplyBody(BaseModel):
    shortcut: str = Field(min_length=1, max_length=40, pattern=SHORTCUT)
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4096)


class QuickReplyPatch(BaseModel):
    shortcut: str | None = Field(default=None, min_length=1, max_length=40, pattern=SHORTCUT)
    title: str | None = Field(default=None, min_length=1, max_length=120)
    text: str | None = Field(default=None, min_length=1, max_length=4096)


async def _commit(request: Request[Any, Any, Any], session: AsyncSession) -> None:
    try:
        await commit_and_publish(session, context_of(request).redis)
    except IntegrityError:
        raise ClientException("that shortcut is taken", status_code=409) from None


class QuickReplyController(Controller):
    path = "/api/v1/quick-replies"
    tags = ["quick replies"]

    @get("/")
    async def list_replies(
        self, db_session: AsyncSession, q: str | None = Parameter(default=None, max_length=100)
    ) -> dict[str, list[dict[str, Any]]]:
        query = select(QuickReply).order_by(col(QuickReply.shortcut))
        if q:
            pattern = f"%{q.strip().lower()}%"
            query = query.where(
                or_(col(QuickReply.shortcut).ilike(pattern), col(QuickReply.title).ilike(pattern))
            )
        return {"items": [services.view(r) for r in (await db_session.execute(query)).scalars()]}

    @post("/", guards=[require_role(Role.admin)], status_code=201)
    async def create(
        self, request: AgentRequest, db_session: AsyncSession, data: QuickReplyBody
    ) -> dict[str, Any]:
        try:
            reply = await services.create_reply(db_session, data.model_dump(), by=request.user)
        except IntegrityError:
            raise ClientException("that shortcut is taken", status_code=409) from None
        await _commit(request, db_session)
        return services.view(reply)

    @patch("/{reply_id:int}", guards=[require_role(Role.admin)])
    async def update(
        self, request: AgentRequest, db_session: AsyncSession, reply_id: int,
        data: QuickReplyPatch,
    ) -> dict[str, Any]:  # fmt: skip
        try:
            reply = await services.update_reply(
                db_session, reply_id, data.model_dump(exclude_none=True), by=request.user
            )
        except IntegrityError:
            raise ClientException("that shortcut is taken", status_code=409) from None
        await _commit(request, db_session)
        return services.view(reply)

    @delete("/{reply_id:int}", guards=[require_role(Role.admin)])
    async def remove(self, request: AgentRequest, db_session: AsyncSession, reply_id: int) -> None:
        await services.delete_reply(db_session, reply_id, by=request.user)
        await _commit(request, db_session)
