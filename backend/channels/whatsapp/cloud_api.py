"""The WhatsApp Cloud API (or the sandbox, which answers the same way) as a `Provider`."""

from __future__ import annotations

from typing import Any, BinaryIO

import httpx

from backend.channels.base import OutboundRequest, SendError
from backend.channels.whatsapp.errors import classify, classify_transport


def build_http_client() -> httpx.AsyncClient:
    """One pooled client per process: reusing TLS connections to graph.facebook.com matters at
    80 messages/s. Timeouts are short on connect (a dead host should fail fast and be retried)
    and generous on read (Meta's p99 can reach seconds)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(20.0, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "Switchboard/0.1"},
    )


class CloudApiProvider:
    def __init__(
        self, base_url: str, phone_number_id: str, access_token: str, client: httpx.AsyncClient
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._media_url = f"{base_url.rstrip('/')}/{phone_number_id}/media"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._client = client

    async def send(self, request: OutboundRequest, *, idempotency_key: str) -> str:
        """The Cloud API has no idempotency key. `idempotency_key` travels as
        `biz_opaque_callback_data`, which Meta echoes in every status webhook: a send whose answer
        was lost (the worker died) is recognised by its statuses instead of being sent again."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "type": request.kind, request.kind: request.body,
            "biz_opaque_callback_data": idempotency_key,
        }  # fmt: skip
        # The number when known (Meta: `to` wins over `recipient`), else the BSUID.
        if request.to:
            body["to"] = request.to
        elif request.recipient:
            body["recipient"] = request.recipient
        else:
            raise SendError(None, "the contact has neither a phone number nor a BSUID",
                            retryable=False)  # fmt: skip
        if request.reply_to_provider_id:
            body["context"] = {"message_id": request.reply_to_provider_id}
        answer = await self._post(body)
        messages = answer.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            wamid = messages[0].get("id")
            if isinstance(wamid, str) and wamid:
                return wamid
        # Accepted but unidentifiable: retrying could send twice, so this is not retryable.
        raise SendError(None, "response carried no message id", retryable=False,
                        details={"response": answer})  # fmt: skip

    async def mark_read(self, provider_message_id: str) -> None:
        await self._post(
            {"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id}
        )

    async def show_typing(self, provider_message_id: str) -> bool:
        """The Cloud API's typing indicator rides on a read receipt for the customer's message;
        it shows for up to 25 s or until our next message arrives."""
        await self._post({
            "messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id,
            "typing_indicator": {"type": "text"},
        })  # fmt: skip
        return True

    async def upload_media(self, file: BinaryIO, mime_type: str, filename: str) -> str:
        """`POST /{phone_number_id}/media` (multipart `file`, `type`, `messaging_product`): the
        file streams from disk; the id it returns is what the message names (and a retry reuses)."""
        try:
            response = await self._client.post(
                self._media_url, headers=self._headers,
                data={"messaging_product": "whatsapp", "type": mime_type},
                files={"file": (filename, file, mime_type)},
            )  # fmt: skip
        except httpx.TransportError as error:
            raise classify_transport(error) from error
        answer = self._answer(response)
        media_id = answer.get("id")
        if not isinstance(media_id, str | int) or not str(media_id):
            raise SendError(None, "media upload answered no id", retryable=True,
                            details={"response": answer})  # fmt: skip
        return str(media_id)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.TransportError as error:
            raise classify_transport(error) from error
        return self._answer(response)

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict):
            return answer
        raise classify(
            response.status_code, answer if isinstance(answer, dict) else None,
            response.headers.get("Retry-After"),
        )  # fmt: skip
