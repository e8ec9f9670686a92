"""Cloud API webhook bodies, built the way Meta builds them, for the sandbox, tests and benches.

They follow the real bodies in shape (metadata, contacts[].profile, unix-second string
timestamps), so whatever ingests them is exercised exactly as in production.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from backend.channels.whatsapp.signature import sign

SANDBOX_DISPLAY_NUMBER = "15550000000"


def new_wamid() -> str:
    return "wamid.HBgL" + base64.urlsafe_b64encode(secrets.token_bytes(27)).decode()


def _envelope(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    display = phone_number_id if phone_number_id.isdigit() else SANDBOX_DISPLAY_NUMBER
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "sandbox-waba",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
                    **value,
                },
            }],
        }],
    }  # fmt: skip


def customer_message_webhook(
    phone_number_id: str, wa_id: str | None, name: str, kind: str, content: dict[str, Any], *,
    wamid: str | None = None, timestamp: int | None = None, context_id: str | None = None,
    user_id: str | None = None, username: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A customer's message; `user_id` (BSUID) and `username` as Meta sends them since usernames,
    and no `from` when the number is withheld (`wa_id` None)."""
    message: dict[str, Any] = {
        "id": wamid or new_wamid(),
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "type": kind, kind: content,
    }  # fmt: skip
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        message["from"] = contact["wa_id"] = wa_id
    if user_id:
        message["from_user_id"] = contact["user_id"] = user_id
    if username:
        contact["profile"]["username"] = username
    if context_id:
        message["context"] = {"from": phone_number_id, "id": context_id}
    return _envelope(phone_number_id, {"contacts": [contact], "messages": [message]})


def echo_webhook(
    phone_number_id: str, wa_id: str | None, kind: str, content: dict[str, Any], *,
    wamid: str | None = None, timestamp: int | None = None, user_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What the business typed in the WhatsApp Business app (coexistence): `smb_message_echoes`.

    `kind` may be `edit` (`content`: `{"original_message_id", "message": {...}}`) or `revoke`
    (`{"original_message_id"}`) as well as any message type."""
    echo: dict[str, Any] = {
        "from": SANDBOX_DISPLAY_NUMBER, "id": wamid or new_wamid(),
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "type": kind, kind: content,
    }  # fmt: skip
    if wa_id:
        echo["to"] = wa_id
    if user_id:
        echo["to_user_id"] = user_id
    body = _envelope(phone_number_id, {"message_echoes": [echo]})
    body["entry"][0]["changes"][0]["field"] = "smb_message_echoes"
    return body


def text_message_webhook(
    phone_number_id: str, wa_id: str, name: str, text: str,
    wamid: str | None = None, timestamp: int | None = None, context_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return customer_message_webhook(
        phone_number_id, wa_id, name, "text", {"body": text},
        wamid=wamid, timestamp=timestamp, context_id=context_id,
    )  # fmt: skip


def interactive_reply_webhook(
    phone_number_id: str, wa_id: str, name: str, reply: dict[str, Any],
    kind: str = "button_reply", wamid: str | None = None, timestamp: int | None = None,
    context_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`kind` is `button_reply` or `list_reply`; `reply` is `{"id", "title", "description"?}`."""
    return customer_message_webhook(
        phone_number_id, wa_id, name, "interactive", {"type": kind, kind: reply},
        wamid=wamid, timestamp=timestamp, context_id=context_id,
    )  # fmt: skip


def status_webhook(
    phone_number_id: str, wamid: str, status: str, recipient_id: str | None,
    error: dict[str, Any] | None = None, timestamp: int | None = None,
    callback_data: str | None = None, recipient_user_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`error` is `{"code", "title", "details"?}`, expanded to the Cloud API's error object.

    A message sent to a BSUID is named by `recipient_user_id` (and no `recipient_id`)."""
    entry: dict[str, Any] = {
        "id": wamid, "status": status,
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
    }  # fmt: skip
    if recipient_id:
        entry["recipient_id"] = recipient_id
    if recipient_user_id:
        entry["recipient_user_id"] = recipient_user_id
    if callback_data:
        entry["biz_opaque_callback_data"] = callback_data
    if status in ("sent", "delivered"):
        who = recipient_id or recipient_user_id or ""
        entry["conversation"] = {"id": "sandbox-" + who, "origin": {"type": "service"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if error is not None:
        entry["errors"] = [{
            "code": error["code"], "title": error["title"], "message": error["title"],
            "error_data": {"details": error.get("details", error["title"])},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }]  # fmt: skip
    return _envelope(phone_number_id, {"statuses": [entry]})


def signed_post_headers(raw: bytes, app_secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, app_secret)}
