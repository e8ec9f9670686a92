"""Agents' uploads: checked against WhatsApp's types and limits at once, stored by hash, then
attached to a reply (`{"media": {"upload_id", "caption"?}}`)."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Message
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.media.kinds import LARGEST, Refused, check_size, recognise
from backend.media.models import MediaState, MessageMedia, Upload
from backend.media.storage import MediaStorage, StorageError

READ = 256 * 1024


async def store_upload(
    session: AsyncSession, storage: MediaStorage, agent_id: int, part: UploadFile
) -> Upload:
    """Spools the part while hashing it, recognises its type from the bytes, checks WhatsApp's
    limit for that kind, and keeps it. ServiceError 413/422 says which rule it broke."""
    filename = (part.filename or "file").replace("/", "_").replace("\\", "_")[:255] or "file"
    spool = storage.spool(LARGEST)
    try:
        while chunk := await part.read(READ):
            spool.write(chunk)
    except ValueError:
        spool.abort()
        raise ServiceError(413, f"files may be at most {LARGEST // 2**20} MB (WhatsApp's limit for documents)") from None  # fmt: skip
    spooled = spool.close()
    try:
        if spooled.size == 0:
            raise Refused(422, "the file is empty")
        recognised = recognise(spooled.head, filename)
        check_size(recognised.kind, spooled.size)
    except Refused as refused:
        spooled.discard()
        raise ServiceError(refused.status, refused.detail) from None
    try:
        await storage.keep(spooled)
    except StorageError as error:
        raise ServiceError(503, f"media storage is unavailable: {error}") from None
    upload = Upload(
        agent_id=agent_id, kind=recognised.kind, filename=filename,
        mime_type=recognised.mime_type, size=spooled.size, sha256=spooled.sha256,
    )  # fmt: skip
    session.add(upload)
    await session.flush()
    return upload


def upload_json(upload: Upload) -> dict[str, Any]:
    return {"id": upload.id, "filename": upload.filename, "mime_type": upload.mime_type,
            "size": upload.size, "kind": upload.kind, "sha256": upload.sha256}  # fmt: skip


async def draft_media(session: AsyncSession, value: Any) -> tuple[str, dict[str, Any], str | None]:
    """`{"upload_id", "caption"?}` → the Cloud API type, its object (without the media id, which
    the worker adds after uploading to Meta), and the caption as the message text."""
    if not isinstance(value, dict) or not isinstance(value.get("upload_id"), int | str):
        raise ServiceError(422, "media needs an upload_id from POST /api/v1/uploads")
    try:
        upload_id = int(value["upload_id"])
    except ValueError:
        raise ServiceError(422, "upload_id must be the id POST /api/v1/uploads returned") from None
    upload = await session.get(Upload, upload_id)
    if upload is None:
        raise ServiceError(422, f"no upload with id {upload_id}")
    caption = value.get("caption")
    if caption is not None and (not isinstance(caption, str) or len(caption) > 1024):
        raise ServiceError(422, "caption must be a string of at most 1024 characters")
    if caption and upload.kind in ("audio", "sticker"):
        raise ServiceError(422, f"WhatsApp shows no caption on {upload.kind} messages")
    body: dict[str, Any] = {"upload_id": upload.id}
    if caption:
        body["caption"] = caption
    if upload.kind == "document":
        body["filename"] = upload.filename
    return upload.kind, body, caption or None


async def attach_upload(session: AsyncSession, message: Message) -> None:
    """The media row of an outbound message written from an upload (same transaction)."""
    upload = await session.get(Upload, int(message.payload["upload_id"]))
    assert upload is not None and message.id is not None
    now = utcnow()
    session.add(MessageMedia(
        message_id=message.id, kind=upload.kind, mime_type=upload.mime_type,
        filename=upload.filename, caption=message.payload.get("caption"), size=upload.size,
        sha256=upload.sha256, state=MediaState.stored.value, upload_id=upload.id,
        created_at=now, updated_at=now,
    ))  # fmt: skip
    await session.flush()
