"""The message's `media` object (CONTRACT.md): what the inbox shows while a file is fetched,
once it is stored, or when fetching it failed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.media.kinds import MEDIA_KINDS
from backend.media.models import MediaState, MessageMedia


def _payload_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def media_view(
    message_id: int, kind: str, payload: dict[str, Any], row: MessageMedia | None
) -> dict[str, Any]:
    if row is None:  # stored by ingest a moment ago: the download job has not started yet
        return {
            "kind": kind, "mime_type": _payload_str(payload, "mime_type"),
            "filename": _payload_str(payload, "filename"), "caption": _payload_str(payload, "caption"),
            "voice": payload.get("voice") is True, "size": None, "sha256": None,
            "state": MediaState.pending.value, "error": None, "url": None,
        }  # fmt: skip
    stored = row.state == MediaState.stored.value
    return {
        "kind": row.kind, "mime_type": row.mime_type, "filename": row.filename,
        "caption": row.caption, "voice": row.voice, "size": row.size, "sha256": row.sha256,
        "state": row.state, "error": row.error,
        "url": f"/api/v1/messages/{message_id}/media" if stored else None,
    }  # fmt: skip


def has_media(message_type: str) -> bool:
    return message_type in MEDIA_KINDS


async def media_rows(session: AsyncSession, message_ids: list[int]) -> dict[int, MessageMedia]:
    """One query for a page of messages' files; a message missing here has no row yet."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(MessageMedia).where(col(MessageMedia.message_id).in_(message_ids))
    )
    return {row.message_id: row for row in rows.scalars()}
