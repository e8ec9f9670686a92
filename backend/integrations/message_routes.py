"""Business systems' messages: send one, send a batch, read one's status."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.models import Message, Sender
from backend.conversations.outbound import enqueue_send
from backend.conversations.views import message_json
from backend.conversations.visibility import get_visible
from backend.core.context import context_of
from backend.core.errors import ServiceError
from backend.integrations.key_auth import API_SCOPE, key_only
from backend.integrations.keys import ApiKeyPrincipal
from backend.integrations.models import Scope
from backend.integrations.schemas import (
    BATCH_EXAMPLE,
    MESSAGE_EXAMPLE,
    BatchItem,
    BatchRequest,
    BatchResult,
    BatchResults,
    MessageAccepted,
    MessageRequest,
    MessageView,
)
from backend.integrations.sending import send_one
from backend.realtime.events import commit_and_publish

KeyRequest = Request[ApiKeyPrincipal, Any, Any]
_SEND = {API_SCOPE: Scope.messages_send.value}
# A batch commits every this many items: the writers' lock is never held for a whole batch.
_BATCH_COMMIT_EVERY = 100


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


class ApiMessageController(Controller):
    path = "/api/v1/messages"
    tags = ["messages"]

    @post("/", status_code=HTTP_202_ACCEPTED, guards=[key_only], opt=_SEND)
    async def send(
        self, request: KeyRequest, db_session: AsyncSession,
        data: Annotated[MessageRequest, MESSAGE_EXAMPLE],
        idempotency_key: str | None = Parameter(header="Idempotency-Key", default=None, max_length=255),
    ) -> MessageAccepted:  # fmt: skip
        """Sends a template (or, inside the 24-hour window, text) to a customer, new or known."""
        outcome = await send_one(db_session, request.user, data, idempotency_key)
        if outcome.created:
            await commit_and_publish(db_session, context_of(request).redis)
            assert outcome.message.id is not None
            await enqueue_send(context_of(request).queue, outcome.message.id)
        return MessageAccepted(
            message=MessageView.model_validate(await message_json(db_session, outcome.message)),
            conversation_id=outcome.message.conversation_id,
        )

    @post("/batch", status_code=207, guards=[key_only], opt=_SEND)
    async def send_batch(
        self,
        request: KeyRequest,
        db_session: AsyncSession,
        data: Annotated[BatchRequest, BATCH_EXAMPLE],
    ) -> BatchResults:
        """Up to 1,000 messages, each with its own result: a refused one costs no other."""
        context = context_of(request)
        results: list[BatchResult] = []
        to_send: list[int] = []

        async def flush() -> None:
            await commit_and_publish(db_session, context.redis)
            for message_id in to_send:
                await enqueue_send(context.queue, message_id)
            to_send.clear()

        for index, raw in enumerate(data.messages):
            try:
                item = BatchItem.model_validate(raw)
                outcome = await send_one(db_session, request.user, item, item.idempotency_key)
            except ValidationError as error:
                results.append(BatchResult(status=422, detail=_first_error(error)))
                continue
            except ServiceError as error:
                results.append(BatchResult(status=error.status, detail=error.detail))
                continue
            if outcome.created:
                assert outcome.message.id is not None
                to_send.append(outcome.message.id)
            view = MessageView.model_validate(await message_json(db_session, outcome.message))
            results.append(
                BatchResult(status=202, message=view, conversation_id=view.conversation_id)
            )
            if (index + 1) % _BATCH_COMMIT_EVERY == 0:
                await flush()
        await flush()
        return BatchResults(results=results)

    @get("/{message_id:int}", opt=_SEND)
    async def get_message(
        self, request: Request[CurrentAgent | ApiKeyPrincipal, Any, Any], db_session: AsyncSession,
        message_id: int,
    ) -> MessageView:  # fmt: skip
        """The message and its current status: for the key that sent it, or an agent who may
        see its conversation."""
        message = await db_session.get(Message, message_id)
        if message is None:
            raise ServiceError(404, "no such message")
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            if message.sender != Sender.api.value or message.sender_api_key_id != user.id:
                raise ServiceError(404, "no such message sent with this key")
        elif isinstance(user, CurrentAgent):
            await get_visible(db_session, user, message.conversation_id)
        else:
            raise PermissionDeniedException("sign in or use an API key")
        return MessageView.model_validate(await message_json(db_session, message))
