"""After-commit reactions to events, so domains react to each other without importing each other.

`commit_and_publish` runs every registered hook with the events it just committed. Hooks must be
quick and must not fail the caller: they enqueue worker jobs (a bot's next step, an SLA timer)
rather than doing the work. Domain modules register with `@on_events` and are listed in
`HOOK_MODULES` so that the web process and the worker load the same set.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from arq.connections import ArqRedis
from redis.asyncio import Redis

from backend.core.logging import get_logger

if TYPE_CHECKING:
    from backend.realtime.models import Event

log = get_logger(__name__)

Hook = Callable[[ArqRedis, list["Event"]], Awaitable[None]]

# Modules whose import registers hooks; add a domain here when it reacts to events.
HOOK_MODULES: list[str] = [
    "backend.bots.hooks", "backend.surveys.hooks", "backend.sla.hooks", "backend.integrations.hooks",
]  # fmt: skip

_HOOKS: list[Hook] = []


def on_events(hook: Hook) -> Hook:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def load_hooks() -> None:
    for module in HOOK_MODULES:
        importlib.import_module(module)


def queue_for(redis: Redis) -> ArqRedis:
    from backend.core.context import QUEUE_NAME

    return ArqRedis(connection_pool=redis.connection_pool, default_queue_name=QUEUE_NAME)


async def run_hooks(redis: Redis, events: list[Event]) -> None:
    if not events or not _HOOKS:
        return
    queue = queue_for(redis)
    for hook in _HOOKS:
        try:
            await hook(queue, events)
        except Exception as error:
            log.warning("event hook failed", hook=hook.__qualname__, error=type(error).__name__)
