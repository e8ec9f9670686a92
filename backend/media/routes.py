"""Media routes: thin handlers over storage, the download job and uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED
from obstore.exceptions import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.models import Message
from backend.conversations.views import message_json
from backend.conversations.visibility import get_visible
from backend.core.context import context_of
from backend.core.errors import ServiceError
from backend.media.jobs import enqueue_download, retry_cause, retry_download, storage_of
from backend.media.kinds import LARGEST, default_filename
from backend.media.models import MediaState, MessageMedia
from backend.media.serving import Unsatisfiable, parse_range, safe_headers
from backend.media.uploads import store_upload, upload_json
from backend.realtime.events import commit_and_publish

AgentRequest = Request[CurrentAgent, Any, Any]


async def _visible_media(
    session: AsyncSession, agent: CurrentAgent, message_id: int
) -> tuple[Message, MessageMedia | None]:
    """404 alike for a message that does not exist and one the agent may not see."""
    message = await session.get(Message, message_id)
    if message is None:
        raise ServiceError(404, "no such message")
    try:
        await get_visible(session, agent, message.conversation_id)
    except ServiceError:
        raise ServiceError(404, "no such message") from None
    return message, await session.get(MessageMedia, message_id)


@get("/api/v1/messages/{message_id:int}/media", tags=["media"])
async def message_media(
    request: AgentRequest, db_session: AsyncSession, message_id: int
) -> Response[Any]:
    """The file's bytes (or the requested range of them) with the stored type."""
    _, row = await _visible_media(db_session, request.user, message_id)
    if row is None or row.state != MediaState.stored.value or not row.sha256 or row.size is None:
        raise ServiceError(404, "the file is not stored (yet)")
    mime = row.mime_type or "application/octet-stream"
    filename = row.filename or default_filename(row.kind, mime, message_id)
    headers = safe_headers(filename, mime, row.sha256)
    size = row.size
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except Unsatisfiable:
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
        )
    storage = storage_of(context_of(request))
    start, end, status = (0, size, 200) if wanted is None else (wanted.start, wanted.end, 206)
    chunks = storage.read(row.sha256, start, end if wanted is not None else None)
    try:
        first = await anext(chunks, b"")
    except (NotFoundError, FileNotFoundError):
        raise ServiceError(404, "the file is missing from storage") from None
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(size)
    headers["Content-Length"] = str(end - start)

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return Stream(body(), status_code=status, media_type=mime, headers=headers)


@post(
    "/api/v1/messages/{message_id:int}/media/retry", status_code=HTTP_202_ACCEPTED, tags=["media"]
)
async def retry_media(
    request: AgentRequest, db_session: AsyncSession, message_id: int
) -> dict[str, Any]:
    """Fetch a `failed` file again (any agent who may see the conversation)."""
    return await retry_inbound_media(request, db_session, message_id)


async def retry_inbound_media(
    request: AgentRequest, db_session: AsyncSession, message_id: int
) -> dict[str, Any]:
    """Also what `POST /api/v1/messages/{id}/retry` does for a customer's message."""
    message, _ = await _visible_media(db_session, request.user, message_id)
    if not await retry_download(db_session, message_id):
        raise ServiceError(409, "only a file whose download failed can be retried")
    await commit_and_publish(db_session, context_of(request).redis)
    await enqueue_download(context_of(request).queue, message_id, retry_cause())
    return await message_json(db_session, message)


@dataclass
class UploadForm:
    file: UploadFile


@post(
    "/api/v1/uploads", status_code=HTTP_201_CREATED, tags=["media"],
    request_max_body_size=LARGEST + 1024 * 1024,
)  # fmt: skip
async def upload(
    request: AgentRequest, db_session: AsyncSession,
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:  # fmt: skip
    """A file to attach to a reply: 413/422 with the reason when WhatsApp would refuse it."""
    stored = await store_upload(
        db_session, storage_of(context_of(request)), request.user.id, data.file
    )
    await db_session.commit()
    return upload_json(stored)


MEDIA_HANDLERS = [message_media, retry_media, upload]
