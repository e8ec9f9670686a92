"""Quick replies: every agent reads and searches them; admins manage them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import require_role
from backend.agents.models import Role
from backend.db.types import utcnow
from backend.quick_replies.models import QuickReply

SHORTCUT = r"^[a-z0-9][a-z0-9_-]*$"


class QuickReplyBody(BaseModel):
    shortcut: str = Field(min_length=1, max_length=40, pattern=SHORTCUT)
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4096)


class QuickReplyPatch(BaseModel):
    shortcut: str | None = Field(default=None, min_length=1, max_length=40, pattern=SHORTCUT)
    title: str | None = Field(default=None, min_length=1, max_length=120)
    text: str | None = Field(default=None, min_length=1, max_length=4096)


def view(reply: QuickReply) -> dict[str, Any]:
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "text": reply.text}


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
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
        return {"items": [view(r) for r in (await db_session.execute(query)).scalars()]}

    @post("/", guards=[require_role(Role.admin)], status_code=201)
    async def create(self, db_session: AsyncSession, data: QuickReplyBody) -> dict[str, Any]:
        reply = QuickReply(shortcut=data.shortcut, title=data.title, text=data.text)
        db_session.add(reply)
        await _commit(db_session)
        return view(reply)

    @patch("/{reply_id:int}", guards=[require_role(Role.admin)])
    async def update(
        self, db_session: AsyncSession, reply_id: int, data: QuickReplyPatch
    ) -> dict[str, Any]:
        reply = await db_session.get(QuickReply, reply_id)
        if reply is None:
            raise NotFoundException("no such quick reply")
        for key, value in data.model_dump(exclude_none=True).items():
            setattr(reply, key, value)
        reply.updated_at = utcnow()
        await _commit(db_session)
        return view(reply)

    @delete("/{reply_id:int}", guards=[require_role(Role.admin)])
    async def remove(self, db_session: AsyncSession, reply_id: int) -> None:
        reply = await db_session.get(QuickReply, reply_id)
        if reply is None:
            raise NotFoundException("no such quick reply")
        await db_session.delete(reply)
        await db_session.commit()
