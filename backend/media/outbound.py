"""Sending an agent's file: uploaded to the provider once, then sent by its media id.

The worker calls this under the send lease, so one worker uploads; the provider's media id is
kept on the message's media row before the send, so a retry (after a timeout, a 5xx, a crash)
sends the same id again instead of uploading the file a second time.
"""

from __future__ import annotations

from typing import Any

from backend.channels.base import Provider, SendError
from backend.conversations.models import Message
from backend.core.context import AppContext
from backend.db.types import utcnow
from backend.media.jobs import storage_of
from backend.media.kinds import LARGEST
from backend.media.models import MessageMedia
from backend.media.storage import StorageError


async def outbound_media_body(
    app: AppContext, provider: Provider, message: Message
) -> dict[str, Any]:
    """The Cloud API object for the message's type: `{"id", "caption"?, "filename"?}`."""
    async with app.sessions() as session:
        row = await session.get(MessageMedia, message.id)
    if row is None or not row.sha256:
        raise SendError(None, "the message's file is missing", retryable=False)
    if row.provider_media_id is None:
        row.provider_media_id = await _upload(app, provider, row)
        async with app.sessions() as session:
            stored = await session.get(MessageMedia, message.id)
            assert stored is not None
            stored.provider_media_id, stored.updated_at = row.provider_media_id, utcnow()
            await session.commit()
    body = {key: value for key, value in message.payload.items() if key != "upload_id"}
    return {**body, "id": row.provider_media_id}


async def _upload(app: AppContext, provider: Provider, row: MessageMedia) -> str:
    storage = storage_of(app)
    assert row.sha256 is not None
    spool = storage.spool(LARGEST)
    try:
        async for chunk in storage.read(row.sha256):
            spool.write(chunk)
    except (StorageError, OSError, ValueError) as error:
        spool.abort()
        raise SendError(None, f"media storage: {error}", retryable=True) from error
    except Exception as error:  # obstore's own errors: the store is unreachable or the file gone
        spool.abort()
        raise SendError(None, f"media storage: {type(error).__name__}", retryable=True) from error
    spooled = spool.close()
    try:
        with spooled.path.open("rb") as file:
            return await provider.upload_media(
                file, row.mime_type or "application/octet-stream", row.filename or "file"
            )
    finally:
        spooled.discard()
