"""Reactions to committed events, so domains react to each other without importing each other.

A reaction is `async def reaction(queue, events)`: it gets committed events in `seq` order and
starts work for them, usually by enqueueing an idempotent worker job (a bot's next step, an SLA
timer). Decorate it with `@on_events`; the module that defines it is imported by the assembly
(`backend.reactions`), and the worker's event-log consumer (`backend.realtime.reactions`) calls
it with every committed event from that reaction's stored cursor on — at least once, so a
reaction must be safe to repeat (deterministic job ids, jobs that check state).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from arq.connections import ArqRedis

if TYPE_CHECKING:
    from backend.realtime.models import Event

Hook = Callable[[ArqRedis, list["Event"]], Awaitable[None]]

_HOOKS: list[Hook] = []


def on_events(hook: Hook) -> Hook:
    """Registers a reaction; the function is returned unchanged (so it stays testable alone)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def registered() -> list[Hook]:
    return list(_HOOKS)


def hook_name(hook: Hook) -> str:
    """The reaction's cursor name: renaming a reaction starts it afresh at the log's head."""
    return f"{hook.__module__}.{hook.__qualname__}"
