"""Cloud API webhook bodies → normalized records, every entry, change, message and status of them.

Peers drop all but the first message of a batch; here the whole body is walked, and each item is
read on its own: one odd message must never cost the customer the other messages that arrived
with it. Only a body that is not a webhook at all (not JSON, not a WhatsApp Business Account
object, no entries, nothing in it readable) raises `WebhookError` — a 400, which Meta does not
retry. Below that level:

- a message whose content cannot be read (a wrong-typed field, an unknown type) is kept as
  `unsupported` with its raw object and the reason, under its customer;
- a message or status that names no customer or no message id, and an entry or change without
  its parts, become `RejectedItem`s, stored as they came;
- strings, numbers and nesting that storage cannot carry are made harmless by `safe_json`.

Customers are named by phone number (`from`, `contacts[].wa_id`) and, since usernames, by a
business-scoped user id (`from_user_id`, `contacts[].user_id`); either may be missing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.channels import safe_json
from backend.channels.base import (
    ContactSync,
    EchoMessage,
    InboundMessage,
    RejectedItem,
    StatusUpdate,
    WebhookBatch,
    WebhookError,
)
from backend.channels.whatsapp.template_changes import TEMPLATE_FIELDS, read_template_change

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# Column widths of what is stored (contacts, messages): longer values are not identifiers.
MAX_ID = 128
MAX_WA_ID = 32
MAX_USER_ID = 160
MAX_NAME = 255
MAX_STATUS = 16
MAX_TITLE = 512


class Unreadable(Exception):
    """A message's content has a field of the wrong type: it is kept as `unsupported`."""


def parse_webhook(raw: bytes, *, received_at: datetime | None = None) -> WebhookBatch:
    """Every record of the body; `received_at` stands in for timestamps that cannot be read."""
    try:
        body = safe_json.decode(raw)
    except safe_json.NotJSON as error:
        raise WebhookError(f"invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise WebhookError("body is not a JSON object")
    if body.get("object") != OBJECT:
        raise WebhookError(f"object is {body.get('object')!r}, expected {OBJECT!r}")
    entries = body.get("entry")
    if not isinstance(entries, list) or not entries:
        raise WebhookError("entry must be a non-empty list")
    batch = WebhookBatch()
    reader = _Reader(batch, received_at or datetime.now(UTC))
    readable = False
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            reader.reject(None, "entry", "entry without a changes list", entry)
            continue
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                reader.reject(None, "change", "change without a value object", change)
                continue
            if change.get("field") in TEMPLATE_FIELDS:
                read_template_change(entry, change, batch)
            field = change.get("field")
            if field == "smb_message_echoes":
                readable = reader.echoes_value(change["value"]) or readable
                continue
            if field == "smb_app_state_sync":
                readable = reader.state_sync_value(change["value"]) or readable
                continue
            if isinstance(field, str) and field.startswith("group_"):
                groups = change["value"].get("groups")
                count = len(groups) if isinstance(groups, list) and groups else 1
                batch.group_items.extend([field] * count)
                readable = True
                continue
            if change.get("field") != "messages":
                readable = True  # template updates and the like: not for the inbox
                continue
            readable = reader.messages_value(change["value"]) or readable
    if not readable:
        # Nothing in the body could be read: it is not a webhook, whatever its envelope says.
        raise WebhookError(batch.rejected[0].reason if batch.rejected else "no changes")
    return batch


@dataclass(frozen=True)
class _Customer:
    wa_id: str | None
    user_id: str | None
    parent_user_id: str | None
    name: str | None
    username: str | None


def _str(item: Any, key: str, limit: int | None = None) -> str | None:
    """The non-empty string at `key` (within `limit`), or None for anything else."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value or (limit is not None and len(value) > limit):
        return None
    return value


def _senders(value: dict[str, Any]) -> list[_Customer]:
    found = []
    listed = value.get("contacts")
    for contact in listed if isinstance(listed, list) else []:
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile")
        name = _str(profile, "name")
        found.append(_Customer(
            wa_id=_str(contact, "wa_id", MAX_WA_ID), user_id=_str(contact, "user_id", MAX_USER_ID),
            parent_user_id=_str(contact, "parent_user_id", MAX_USER_ID),
            name=name[:MAX_NAME] if name else None, username=_str(profile, "username", MAX_NAME),
        ))  # fmt: skip
    return found


def _timestamp(raw: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def _fingerprint(item: Any) -> str:
    """A stable id for an item that carries none: Meta's retries of it are still duplicates."""
    canonical = json.dumps(item, sort_keys=True, ensure_ascii=True, default=str)
    return "unreadable." + hashlib.sha256(canonical.encode()).hexdigest()


class _Reader:
    def __init__(self, batch: WebhookBatch, received_at: datetime) -> None:
        self.batch = batch
        self.received_at = received_at

    def reject(self, phone_number_id: str | None, kind: str, reason: str, raw: Any) -> None:
        self.batch.rejected.append(RejectedItem(phone_number_id, kind, reason, raw))

    def messages_value(self, value: dict[str, Any]) -> bool:
        """Reads one `messages` change; False when nothing of it could be read."""
        messages, statuses = value.get("messages", []), value.get("statuses", [])
        phone_number_id = _str(value.get("metadata"), "phone_number_id")
        if not isinstance(messages, list) or not isinstance(statuses, list):
            self.reject(phone_number_id, "change", "messages and statuses must be lists", value)
            return False
        if not messages and not statuses:
            return True  # e.g. a change carrying only `errors` about an earlier send
        if phone_number_id is None:
            self.reject(None, "change", "value without metadata.phone_number_id", value)
            return False
        self.batch.phone_number_ids.add(phone_number_id)
        contacts = _senders(value)
        for message in messages:
            self.message(message, phone_number_id, contacts, value.get("errors"))
        for status in statuses:
            self.status(status, phone_number_id)
        return True

    def message(
        self, message: Any, phone_number_id: str, contacts: list[_Customer], value_errors: Any
    ) -> None:
        if not isinstance(message, dict):
            self.reject(phone_number_id, "message", "message is not an object", message)
            return
        customer = _customer_of(message, contacts)
        if customer is None:
            self.reject(phone_number_id, "message", "message names no customer (from, from_user_id)", message)  # fmt: skip
            return
        if "group_id" in message:
            self.batch.group_items.append("group_message")  # a group's chat: not for the inbox
            return
        wamid = _str(message, "id", MAX_ID) or _fingerprint(message)
        kind, text, payload, reply_to, unreadable = _read(message, value_errors)
        code, title = _first_error(message.get("errors"))
        self.batch.messages.append(InboundMessage(
            phone_number_id=phone_number_id, provider_message_id=wamid, wa_id=customer.wa_id,
            contact_name=customer.name, type=kind, text=text, payload=payload,
            timestamp=_timestamp(message.get("timestamp"), self.received_at),
            reply_to_provider_id=reply_to, user_id=customer.user_id,
            parent_user_id=customer.parent_user_id, username=customer.username,
            unreadable=unreadable, error_code=code, error_title=title,
        ))  # fmt: skip

    def echoes_value(self, value: dict[str, Any]) -> bool:
        """Reads one `smb_message_echoes` change: the business typing on its phone."""
        echoes = value.get("message_echoes", [])
        phone_number_id = _str(value.get("metadata"), "phone_number_id")
        if not isinstance(echoes, list) or phone_number_id is None:
            self.reject(
                phone_number_id, "change", "echoes without a list or phone_number_id", value
            )
            return False
        self.batch.phone_number_ids.add(phone_number_id)
        contacts = _senders(value)
        for echo in echoes:
            self.echo(echo, phone_number_id, contacts)
        return True

    def echo(self, echo: Any, phone_number_id: str, contacts: list[_Customer]) -> None:
        wamid = _str(echo, "id", MAX_ID)
        to = _str(echo, "to", MAX_WA_ID)
        user_id = _str(echo, "to_user_id", MAX_USER_ID)
        if not isinstance(echo, dict) or wamid is None or not (to or user_id):
            self.reject(
                phone_number_id, "echo", "echo without id or customer (to, to_user_id)", echo
            )
            return
        to = re.sub(r"\D", "", to) or to if to else None  # the app's "input" form: +1 650-555…
        match = next(
            (c for c in contacts if (to and c.wa_id == to) or (user_id and c.user_id == user_id)),
            None,
        )
        action, original, message = "send", None, echo
        kind = _str(echo, "type", 64)
        if kind in ("edit", "revoke"):
            content = echo.get(kind)
            action, original = kind, _str(content, "original_message_id", MAX_ID)
            inner = content.get("message") if isinstance(content, dict) else None
            message = inner if isinstance(inner, dict) else {"type": "unsupported"}
            if original is None:
                self.reject(phone_number_id, "echo", f"{kind} without original_message_id", echo)
                return
        kind, text, payload, _, _ = _read(message, None)
        self.batch.echoes.append(EchoMessage(
            phone_number_id=phone_number_id, provider_message_id=wamid, wa_id=to, user_id=user_id,
            action=action, type=kind, text=text, payload=payload,
            timestamp=_timestamp(echo.get("timestamp"), self.received_at), original_id=original,
            contact_name=match.name if match else None,
            username=match.username if match else None,
        ))  # fmt: skip

    def state_sync_value(self, value: dict[str, Any]) -> bool:
        """Reads one `smb_app_state_sync` change: contacts of the business's phone."""
        items = value.get("state_sync", [])
        phone_number_id = _str(value.get("metadata"), "phone_number_id")
        if not isinstance(items, list) or phone_number_id is None:
            self.reject(phone_number_id, "change", "state_sync without a list or phone_number_id", value)  # fmt: skip
            return False
        self.batch.phone_number_ids.add(phone_number_id)
        for item in items:
            self.contact_sync(item, phone_number_id)
        return True

    def contact_sync(self, item: Any, phone_number_id: str) -> None:
        if isinstance(item, dict) and item.get("type") not in ("contact", None):
            return  # another kind of app state: nothing of ours
        contact = item.get("contact") if isinstance(item, dict) else None
        action = _str(item, "action", 16)
        number = _str(contact, "phone_number", MAX_WA_ID)
        wa_id = re.sub(r"\D", "", number) or None if number else None
        user_id = _str(contact, "user_id", MAX_USER_ID)
        if not isinstance(contact, dict) or action is None or not (wa_id or user_id):
            self.reject(phone_number_id, "contact", "state_sync contact without action or number", item)  # fmt: skip
            return
        name = _str(contact, "full_name") or _str(contact, "first_name")
        metadata = item.get("metadata") if isinstance(item, dict) else None
        self.batch.contact_syncs.append(ContactSync(
            phone_number_id=phone_number_id, wa_id=wa_id, user_id=user_id,
            contact_name=name[:MAX_NAME] if name else None,
            username=_str(contact, "username", MAX_NAME), action=action,
            timestamp=_timestamp(
                metadata.get("timestamp") if isinstance(metadata, dict) else None, self.received_at
            ),
        ))  # fmt: skip

    def status(self, status: Any, phone_number_id: str) -> None:
        if isinstance(status, dict) and "group_id" in status:
            self.batch.group_items.append("group_status")  # we never send to groups
            return
        wamid = _str(status, "id", MAX_ID)
        state = _str(status, "status", MAX_STATUS)
        if wamid is None or state is None:
            self.reject(phone_number_id, "status", "status without id or status", status)
            return
        code, title = _first_error(status.get("errors"))
        pricing = status.get("pricing")
        billable = pricing.get("billable") if isinstance(pricing, dict) else None
        self.batch.statuses.append(StatusUpdate(
            phone_number_id=phone_number_id, provider_message_id=wamid, status=state,
            recipient_id=_str(status, "recipient_id", MAX_WA_ID),
            recipient_user_id=_str(status, "recipient_user_id", MAX_USER_ID),
            timestamp=_timestamp(status.get("timestamp"), self.received_at),
            error_code=code, error_title=title,
            callback_data=_str(status, "biz_opaque_callback_data"),
            pricing_category=_str(pricing, "category", 32), pricing_model=_str(pricing, "pricing_model", 32),
            billable=billable if isinstance(billable, bool) else None,
        ))  # fmt: skip


def _first_error(errors: Any) -> tuple[int | None, str | None]:
    """The code and title of the first of Meta's `errors`, when readable."""
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    code = first.get("code")
    title = _str(first, "title") or _str(first, "message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        title[:MAX_TITLE] if title else None,
    )


def _customer_of(message: dict[str, Any], contacts: list[_Customer]) -> _Customer | None:
    """The sender: by `from` / `from_user_id`, completed from the change's `contacts`."""
    wa_id = _str(message, "from", MAX_WA_ID)
    user_id = _str(message, "from_user_id", MAX_USER_ID)
    match = next(
        (c for c in contacts
         if (wa_id and c.wa_id == wa_id) or (user_id and c.user_id == user_id)), None,
    )  # fmt: skip
    if match is None and len(contacts) == 1:
        match = contacts[0]  # the change's one contact is its sender (a number in another format)
    match = match or _Customer(None, None, None, None, None)
    customer = _Customer(
        wa_id=wa_id or match.wa_id, user_id=user_id or match.user_id,
        parent_user_id=_str(message, "from_parent_user_id", MAX_USER_ID) or match.parent_user_id,
        name=match.name, username=match.username,
    )  # fmt: skip
    return customer if customer.wa_id or customer.user_id else None


def _read(
    message: dict[str, Any], value_errors: Any
) -> tuple[str, str | None, dict[str, Any], str | None, str | None]:
    """Type, text, payload, replied-to id, and why it is unreadable (None when it is not)."""
    kind = _str(message, "type", 64)
    errors = message.get("errors") or value_errors
    try:
        if kind is None:
            raise Unreadable("message without a type")
        kind, text, payload = _content(kind, message, errors)
        return kind, text, payload, _context(message, payload), None
    except Exception as error:  # the isolation boundary: whatever fails, the message is kept
        why = str(error) if isinstance(error, Unreadable) else f"{type(error).__name__}: {error}"
        payload = {"original_type": kind, "unreadable": why, "raw": message}
        if isinstance(errors, list):
            payload["errors"] = errors  # Meta's own reason, e.g. 131051 unsupported type
        return "unsupported", None, payload, _str(message.get("context"), "id", MAX_ID), why


def _context(message: dict[str, Any], payload: dict[str, Any]) -> str | None:
    context = message.get("context")
    if isinstance(context, dict):
        payload["context"] = context
    if isinstance(message.get("referral"), dict):
        payload["referral"] = message["referral"]
    return _str(context, "id", MAX_ID)


Normalized = tuple[str, str | None, dict[str, Any]]


def _content(kind: str, message: dict[str, Any], errors: Any) -> Normalized:
    content = message.get(kind)
    normalize = _NORMALIZERS.get(kind)
    if normalize is None:
        return _unsupported(kind, content, errors)  # a type we do not know (yet): kept whole
    if not (isinstance(content, dict) or (kind == "contacts" and isinstance(content, list))):
        raise Unreadable(f"{kind} is missing or not an object")
    return normalize(content)


def _text_at(content: dict[str, Any], key: str) -> str | None:
    """A readable string field, None when absent; any other type makes the message unreadable."""
    value = content.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise Unreadable(f"{key} is a {type(value).__name__}, not a string")


def _list_at(content: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = content.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Unreadable(f"{key} is not a list of objects")
    return value


def _text(content: dict[str, Any]) -> Normalized:
    return "text", _text_at(content, "body"), dict(content)


def _interactive(content: dict[str, Any]) -> Normalized:
    """Button and list replies keep their id (what the bot acts on) at the top of the payload."""
    reply_kind = _text_at(content, "type")
    reply = content.get(reply_kind) if reply_kind else None
    payload = dict(content)
    if not isinstance(reply, dict):
        return "interactive", None, payload
    if reply_kind == "nfm_reply":  # a WhatsApp Flow's answer: no id, a JSON string of fields
        _text_at(reply, "response_json")
        return "interactive", _text_at(reply, "body") or _text_at(reply, "name"), payload
    payload["id"] = _text_at(reply, "id")
    payload["title"] = title = _text_at(reply, "title")
    _text_at(reply, "description")
    return "interactive", title, payload


def _button(content: dict[str, Any]) -> Normalized:
    _text_at(content, "payload")
    return "button", _text_at(content, "text"), dict(content)


def _media(kind: str) -> Callable[[dict[str, Any]], Normalized]:
    def normalize(content: dict[str, Any]) -> Normalized:
        return kind, _text_at(content, "caption"), dict(content)

    return normalize


def _location(content: dict[str, Any]) -> Normalized:
    for key in ("latitude", "longitude"):
        if isinstance(content.get(key), dict | list):
            raise Unreadable(f"{key} is not a number")
    place = ", ".join(text for key in ("name", "address") if (text := _text_at(content, key)))
    where = f"({content.get('latitude')}, {content.get('longitude')})"
    return "location", f"Location: {place} {where}" if place else f"Location {where}", dict(content)


def _reaction(content: dict[str, Any]) -> Normalized:
    _text_at(content, "message_id")
    return "reaction", _text_at(content, "emoji"), dict(content)


def _contacts(content: Any) -> Normalized:
    cards = content if isinstance(content, list) else [content]
    if not all(isinstance(card, dict) for card in cards):
        raise Unreadable("contacts is not a list of objects")
    shown = []
    for card in cards:
        name = card.get("name")
        if name is not None and not isinstance(name, dict):
            raise Unreadable("contact name is not an object")
        formatted = _text_at(name, "formatted_name") if name else None
        phones = [_text_at(phone, "phone") for phone in _list_at(card, "phones")]
        shown.append(" ".join(part for part in (formatted, *phones) if part))
    return "contacts", "Contact: " + "; ".join(shown), {"contacts": cards}


def _order(content: dict[str, Any]) -> Normalized:
    items = _list_at(content, "product_items")
    note = _text_at(content, "text")
    text = f"Order: {len(items)} item(s)" + (f" — {note}" if note else "")
    return "order", text, dict(content)


def _system(content: dict[str, Any]) -> Normalized:
    return "system", _text_at(content, "body"), dict(content)


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
