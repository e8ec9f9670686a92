"""Managing quick replies: each change audited and announced (`quick_reply.*`, to every agent,
whose composer offers them), in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.changes import config_changed
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.quick_replies.models import QuickReply


def view(reply: QuickReply) -> dict[str, Any]:
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "text": reply.text}


async def _found(session: AsyncSession, reply_id: int) -> QuickReply:
    reply = await session.get(QuickReply, reply_id)
    if reply is None:
        raise ServiceError(404, "no such quick reply")
    return reply


async def create_reply(session: AsyncSession, values: dict[str, Any], *, by: Any) -> QuickReply:
    """The caller commits (a taken shortcut fails there, as an IntegrityError)."""
    reply = QuickReply(**values)
    session.add(reply)
    await session.flush()
    await config_changed(
        session, "quick_reply.created", by=by, target_id=reply.id, after=view(reply)
    )
    return reply


async def update_reply(
    session: AsyncSession, reply_id: int, changes: dict[str, Any], *, by: Any
) -> QuickReply:
    reply = await _found(session, reply_id)
    before = view(reply)
    for key, value in changes.items():
        setattr(reply, key, value)
    reply.updated_at = utcnow()
    await session.flush()
    await config_changed(
        session, "quick_reply.updated", by=by, target_id=reply_id, before=before, after=view(reply)
    )
    return reply


async def delete_reply(session: AsyncSession, reply_id: int, *, by: Any) -> None:
    reply = await _found(session, reply_id)
    before = view(reply)
    await session.delete(reply)
    await session.flush()
    await config_changed(session, "quick_reply.deleted", by=by, target_id=reply_id, before=before)
