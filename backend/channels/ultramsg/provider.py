"""Ultramsg (a WhatsApp Web gateway) as a `Provider`: text, images and documents.

Ultramsg answers most failures with HTTP 200 and `{"error": ...}`, so success is judged by its
`sent` flag, never by the status code. It has no reply buttons or templates; those are refused
permanently rather than degraded into text the bot could not map back to a choice.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import httpx

from backend.channels.base import OutboundRequest, SendError
from backend.channels.whatsapp.errors import classify_transport

DEFAULT_BASE_URL = "https://api.ultramsg.com"


class UltramsgProvider:
    def __init__(
        self, instance_id: str, token: str, client: httpx.AsyncClient,
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:  # fmt: skip
        self._base = f"{base_url.rstrip('/')}/{instance_id}"
        self._token = token
        self._client = client

    async def send(self, request: OutboundRequest, *, idempotency_key: str) -> str:
        """`referenceId` carries the idempotency key so Ultramsg's logs and acks can be matched."""
        if not request.to:
            raise SendError(None, "Ultramsg can only write to a phone number", retryable=False)
        fields = {"token": self._token, "to": request.to, "referenceId": idempotency_key}
        if request.reply_to_provider_id:
            fields["msgId"] = request.reply_to_provider_id
        body = request.body
        if request.kind == "text":
            endpoint, extra = "chat", {"body": str(body.get("body", ""))}
        elif request.kind == "image":
            endpoint, extra = "image", {"image": _link(body), "caption": body.get("caption", "")}
        elif request.kind == "document":
            endpoint, extra = "document", {
                "document": _link(body), "filename": body.get("filename") or "document",
                "caption": body.get("caption", ""),
            }  # fmt: skip
        else:
            raise SendError(None, f"Ultramsg cannot send {request.kind} messages", retryable=False)
        answer = await self._post(f"messages/{endpoint}", {**fields, **extra})
        if not answer.get("id"):
            raise SendError(None, "Ultramsg sent no message id", retryable=False,
                            details={"response": answer})  # fmt: skip
        return str(answer["id"])

    async def mark_read(self, provider_message_id: str) -> None:
        """Ultramsg marks whole chats read; its inbound ids embed the chat: `false_<chat>_<key>`."""
        parts = provider_message_id.split("_")
        if len(parts) >= 3 and parts[1].endswith("@c.us"):
            await self._post("chats/read", {"token": self._token, "chatId": parts[1]})

    async def show_typing(self, provider_message_id: str) -> bool:
        """Ultramsg's API has no typing indicator: nothing is sent."""
        return False

    async def upload_media(self, file: BinaryIO, mime_type: str, filename: str) -> str:
        """Ultramsg sends files by public link only; Switchboard's files are private."""
        raise SendError(None, "Ultramsg channels cannot send uploaded files yet", retryable=False)

    async def _post(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(f"{self._base}/{path}", data=fields)
        except httpx.TransportError as error:
            raise classify_transport(error) from error
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and str(answer.get("sent")).lower() == "true":
            return answer
        refusal = answer.get("error") if isinstance(answer, dict) else None
        title = _error_text(refusal) or f"HTTP {response.status_code}"
        retryable = response.status_code == 429 or response.status_code >= 500
        retry_after = response.headers.get("Retry-After")
        raise SendError(
            None, title, retryable=retryable,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            details={"http_status": response.status_code, "response": answer},
        )  # fmt: skip


def _link(body: dict[str, Any]) -> str:
    link = body.get("link")
    if not isinstance(link, str) or not link:
        raise SendError(None, "Ultramsg needs a media link (uploaded media ids are Cloud API only)",
                        retryable=False)  # fmt: skip
    return link


def _error_text(error: Any) -> str | None:
    """Ultramsg's `error` is a string, or a list of `{field: message}` objects."""
    if isinstance(error, str):
        return error
    if isinstance(error, list):
        parts = [
            f"{key}: {value}" for item in error if isinstance(item, dict)
            for key, value in item.items()
        ]  # fmt: skip
        return "; ".join(parts) or None
    return None
