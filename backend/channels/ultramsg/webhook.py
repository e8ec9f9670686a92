"""Ultramsg webhook bodies → the same normalized records as the Cloud API's.

Ultramsg posts one event per request: `message_received` (a customer's message) and
`message_ack` (a receipt for one of ours). Everything else — our own outgoing echoes, group
chats, session events — is acknowledged and ignored, because answering non-2xx makes Ultramsg
retry a body we will never want.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from backend.channels.base import InboundMessage, StatusUpdate, WebhookBatch, WebhookError

ACK_STATUS = {"server": "sent", "device": "delivered", "read": "read", "played": "played"}
_TYPES = {"chat": "text", "image": "image", "video": "video", "audio": "audio", "ptt": "audio",
          "document": "document", "sticker": "sticker", "location": "location",
          "vcard": "contacts"}  # fmt: skip


def parse_webhook(raw: bytes, phone_number_id: str) -> WebhookBatch:
    """`phone_number_id` is the channel's, known from the URL the webhook was posted to."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookError(f"invalid JSON: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise WebhookError("body is not an Ultramsg event with a data object")
    batch = WebhookBatch(phone_number_ids={phone_number_id})
    data: dict[str, Any] = body["data"]
    event = body.get("event_type")
    if event == "message_received" and not data.get("fromMe") and _is_personal(data):
        batch.messages.append(_message(data, phone_number_id))
    elif event == "message_ack" and str(data.get("ack")) in ACK_STATUS:
        batch.statuses.append(_status(body, data, phone_number_id))
    return batch


def _is_personal(data: dict[str, Any]) -> bool:
    return str(data.get("from", "")).endswith("@c.us")


def _wa_id(chat_id: Any) -> str:
    return str(chat_id or "").split("@", 1)[0]


def _time(data: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(data["time"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise WebhookError("data without a valid time") from None


def _message(data: dict[str, Any], phone_number_id: str) -> InboundMessage:
    message_id, sender = data.get("id"), _wa_id(data.get("from"))
    if not isinstance(message_id, str) or not message_id or not sender:
        raise WebhookError("message without id or from")
    kind = _TYPES.get(str(data.get("type")), "unsupported")
    body = data.get("body") if isinstance(data.get("body"), str) else None
    payload: dict[str, Any] = {"ultramsg_type": data.get("type"), "body": body}
    if data.get("media"):
        payload["link"] = data["media"]
    text = body if kind == "text" else (data.get("caption") or body or None)
    quoted = data.get("quotedMsg")
    reply_to = quoted.get("id") if isinstance(quoted, dict) and quoted.get("id") else None
    if reply_to:
        payload["context"] = {"id": reply_to}
    return InboundMessage(
        phone_number_id=phone_number_id, provider_message_id=message_id, wa_id=sender,
        contact_name=data.get("pushname") or None, type=kind,
        text=text if isinstance(text, str) else None, payload=payload,
        timestamp=_time(data), reply_to_provider_id=reply_to,
    )  # fmt: skip


def _status(body: dict[str, Any], data: dict[str, Any], phone_number_id: str) -> StatusUpdate:
    """Our sends got Ultramsg's numeric id back, which acks carry at the top level as `id`;
    the WhatsApp-side `data.id` is only the fallback."""
    message_id = str(body.get("id") or data.get("id") or "")
    if not message_id:
        raise WebhookError("ack without a message id")
    return StatusUpdate(
        phone_number_id=phone_number_id, provider_message_id=message_id,
        status=ACK_STATUS[str(data["ack"])], recipient_id=_wa_id(data.get("to")) or None,
        timestamp=_time(data),
    )  # fmt: skip
