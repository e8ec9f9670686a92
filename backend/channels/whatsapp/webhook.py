"""Cloud API webhook bodies → normalized records, every entry, change, message and status of them.

Peers drop all but the first message of a batch; here the whole body is walked. Anything that is
not a webhook raises `WebhookError` (a 400, which Meta does not retry), while message types we do
not know are kept as `unsupported` rather than failing the batch: one odd message must never cost
the customer the other messages that arrived with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from backend.channels.base import InboundMessage, StatusUpdate, WebhookBatch, WebhookError

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def parse_webhook(raw: bytes) -> WebhookBatch:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookError(f"invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise WebhookError("body is not a JSON object")
    if body.get("object") != OBJECT:
        raise WebhookError(f"object is {body.get('object')!r}, expected {OBJECT!r}")
    entries = body.get("entry")
    if not isinstance(entries, list) or not entries:
        raise WebhookError("entry must be a non-empty list")
    batch = WebhookBatch()
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise WebhookError("entry without a changes list")
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise WebhookError("change without a value object")
            if change.get("field") == "messages":
                _read_messages_value(change["value"], batch)
    return batch


def _read_messages_value(value: dict[str, Any], batch: WebhookBatch) -> None:
    messages = _list_of_objects(value, "messages")
    statuses = _list_of_objects(value, "statuses")
    if not messages and not statuses:
        return  # e.g. a change carrying only `errors` about an earlier send
    metadata = value.get("metadata")
    phone_number_id = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    if not isinstance(phone_number_id, str) or not phone_number_id:
        raise WebhookError("value without metadata.phone_number_id")
    batch.phone_number_ids.add(phone_number_id)
    names = _contact_names(value)
    for message in messages:
        batch.messages.append(_message(message, phone_number_id, names, value.get("errors")))
    for status in statuses:
        batch.statuses.append(_status(status, phone_number_id))


def _list_of_objects(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = value.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise WebhookError(f"{key} must be a list of objects")
    return items


def _contact_names(value: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in value.get("contacts") or []:
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if isinstance(contact.get("wa_id"), str) and isinstance(name, str):
            names[contact["wa_id"]] = name
    return names


def _timestamp(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookError(f"invalid timestamp {raw!r}") from None


def _required_str(item: dict[str, Any], key: str, what: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookError(f"{what} without {key}")
    return value


Normalized = tuple[str, str | None, dict[str, Any]]


def _message(
    message: dict[str, Any], phone_number_id: str, names: dict[str, str], value_errors: Any
) -> InboundMessage:
    wamid = _required_str(message, "id", "message")
    wa_id = _required_str(message, "from", "message")
    kind = _required_str(message, "type", "message")
    content = message.get(kind)
    normalize = _NORMALIZERS.get(kind)
    shaped = isinstance(content, dict) or (kind == "contacts" and isinstance(content, list))
    if normalize is not None and shaped:
        kind, text, payload = normalize(content)
    else:
        kind, text, payload = _unsupported(kind, content, message.get("errors") or value_errors)
    context = message.get("context")
    reply_to = None
    if isinstance(context, dict):
        payload["context"] = context
        reply_to = context.get("id") if isinstance(context.get("id"), str) else None
    if isinstance(message.get("referral"), dict):
        payload["referral"] = message["referral"]
    return InboundMessage(
        phone_number_id=phone_number_id, provider_message_id=wamid, wa_id=wa_id,
        contact_name=names.get(wa_id) or (next(iter(names.values())) if len(names) == 1 else None),
        type=kind, text=text, payload=payload, timestamp=_timestamp(message.get("timestamp")),
        reply_to_provider_id=reply_to,
    )  # fmt: skip


def _text(content: Any) -> Normalized:
    body = content.get("body")
    return "text", body if isinstance(body, str) else None, dict(content)


def _interactive(content: Any) -> Normalized:
    """Button and list replies keep their id (what the bot acts on) at the top of the payload."""
    reply_kind = content.get("type")
    reply = content.get(reply_kind) if isinstance(reply_kind, str) else None
    payload = dict(content)
    if not isinstance(reply, dict):
        return "interactive", None, payload
    if reply_kind == "nfm_reply":  # a WhatsApp Flow's answer: no id, a JSON string of fields
        return "interactive", reply.get("body") or reply.get("name"), payload
    payload["id"] = reply.get("id")
    payload["title"] = reply.get("title")
    return "interactive", reply.get("title"), payload


def _button(content: Any) -> Normalized:
    text = content.get("text")
    return "button", text if isinstance(text, str) else None, dict(content)


def _media(kind: str) -> Callable[[Any], Normalized]:
    def normalize(content: Any) -> Normalized:
        caption = content.get("caption")
        return kind, caption if isinstance(caption, str) and caption else None, dict(content)

    return normalize


def _location(content: Any) -> Normalized:
    place = ", ".join(str(content[key]) for key in ("name", "address") if content.get(key))
    where = f"({content.get('latitude')}, {content.get('longitude')})"
    return "location", f"Location: {place} {where}" if place else f"Location {where}", dict(content)


def _reaction(content: Any) -> Normalized:
    emoji = content.get("emoji")
    return "reaction", emoji if isinstance(emoji, str) and emoji else None, dict(content)


def _contacts(content: Any) -> Normalized:
    cards = [card for card in (content if isinstance(content, list) else [content])
             if isinstance(card, dict)]  # fmt: skip
    shown = []
    for card in cards:
        name = card["name"].get("formatted_name") if isinstance(card.get("name"), dict) else None
        phones = [p.get("phone") for p in card.get("phones") or [] if isinstance(p, dict)]
        shown.append(" ".join(str(part) for part in (name, *phones) if part))
    return "contacts", "Contact: " + "; ".join(shown), {"contacts": cards}


def _order(content: Any) -> Normalized:
    items = content.get("product_items") or []
    note = content.get("text")
    text = f"Order: {len(items)} item(s)" + (f" — {note}" if note else "")
    return "order", text, dict(content)


def _system(content: Any) -> Normalized:
    body = content.get("body")
    return "system", body if isinstance(body, str) else None, dict(content)


def _unsupported(kind: str, content: Any, errors: Any) -> Normalized:
    payload: dict[str, Any] = {"original_type": kind}
    if content is not None:
        payload[kind] = content
    if isinstance(errors, list):
        payload["errors"] = errors
    return "unsupported", None, payload


_NORMALIZERS: dict[str, Callable[[Any], Normalized]] = {
    "text": _text, "interactive": _interactive, "button": _button, "location": _location,
    "reaction": _reaction, "contacts": _contacts, "order": _order, "system": _system,
    **{kind: _media(kind) for kind in MEDIA_TYPES},
}  # fmt: skip


def _status(status: dict[str, Any], phone_number_id: str) -> StatusUpdate:
    errors = status.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    title = first.get("title") or first.get("message")
    recipient = status.get("recipient_id")
    return StatusUpdate(
        phone_number_id=phone_number_id,
        provider_message_id=_required_str(status, "id", "status"),
        status=_required_str(status, "status", "status"),
        recipient_id=recipient if isinstance(recipient, str) else None,
        timestamp=_timestamp(status.get("timestamp")),
        error_code=code if isinstance(code, int) else None,
        error_title=title if isinstance(title, str) else None,
        callback_data=opaque
        if isinstance(opaque := status.get("biz_opaque_callback_data"), str)
        else None,
    )
