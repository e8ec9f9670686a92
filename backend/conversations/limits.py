"""WhatsApp's own limits, applied to what arrives before it is stored.

Nothing a customer can send through WhatsApp is longer than these, so anything longer came from
somewhere else (a forged or broken webhook) and would only cost memory in every process that
carries it: the web's event frames, the sockets, the inbox. Each string is cut with a visible
ellipsis; the message is kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from backend.channels.base import EchoMessage, InboundMessage

TEXT_LIMIT = 4096  # a text message's body
NAME_LIMIT = 255  # the column; profile names are far shorter in the app
PAYLOAD_STRING_LIMIT = 4096  # any one string of the provider's object (captions are 1,024)
_MARK = "…"

Item = TypeVar("Item", InboundMessage, EchoMessage)


def cap(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + _MARK


def capped_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Every string in the object cut to the limit, iteratively (payloads may be deep)."""
    root: dict[str, Any] = dict(payload)
    stack: list[dict[str, Any] | list[Any]] = [root]
    while stack:
        node = stack.pop()
        keys = range(len(node)) if isinstance(node, list) else list(node)
        for key in keys:
            value = node[key]  # type: ignore[index]
            if isinstance(value, str) and len(value) > PAYLOAD_STRING_LIMIT:
                node[key] = cap(value, PAYLOAD_STRING_LIMIT)  # type: ignore[index]
            elif isinstance(value, dict):
                node[key] = copy = dict(value)  # type: ignore[index]
                stack.append(copy)
            elif isinstance(value, list):
                node[key] = copy_list = list(value)  # type: ignore[index]
                stack.append(copy_list)
    return root


def within_limits(item: Item) -> Item:
    changes: dict[str, Any] = {
        "text": cap(item.text, TEXT_LIMIT), "payload": capped_payload(item.payload)
    }  # fmt: skip
    if isinstance(item, InboundMessage):
        changes["contact_name"] = cap(item.contact_name, NAME_LIMIT)
        changes["username"] = cap(item.username, NAME_LIMIT)
    return dataclasses.replace(item, **changes)
