"""Fan-out to websockets: Litestar's channels plugin over Redis Pub/Sub, watched.

Every web process subscribes once to the events channel; the plugin hands each event to every
local websocket's subscriber. Two traps are handled here: a subscriber that cannot keep up is
bounded (and its socket is closed so it resumes with `after`), and the plugin's Redis listener,
which ends silently when Redis drops, is restarted by a watchdog that also tells /ready.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import QueueFull
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from backend.core.logging import get_logger
from backend.realtime.events import EVENTS_CHANNEL

log = get_logger(__name__)

MAX_BACKLOG = 1000


class BoundedSubscriber(Subscriber):
    """Remembers that it had to drop an event, so its socket can be told to resume."""

    overflowed = False

    def put_nowait(self, item: bytes | None) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except QueueFull:
            self.overflowed = True
            return False

    def ready(self) -> bool:
        """An event is waiting (`next_event` returns at once)."""
        return not self._queue.empty()

    async def next_event(self) -> bytes | None:
        """The next event (None when the subscriber is stopped); safe to wrap in a timeout."""
        item = await self._queue.get()
        self._queue.task_done()
        return item


def build_channels(redis: Redis) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=redis),
        channels=[EVENTS_CHANNEL],
        subscriber_max_backlog=MAX_BACKLOG,
        subscriber_backlog_strategy="backoff",
        subscriber_class=BoundedSubscriber,
    )


class ListenerWatchdog:
    """Restarts the plugin's Redis listener when it dies; `problem()` feeds /ready."""

    def __init__(self, plugin: ChannelsPlugin, interval: float = 0.5) -> None:
        self.plugin = plugin
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._down_since: float | None = None

    def problem(self) -> str | None:
        task: asyncio.Task[Any] | None = getattr(self.plugin, "_sub_task", None)
        if task is None or task.done():
            return "listener down"
        return None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            task: asyncio.Task[Any] | None = getattr(self.plugin, "_sub_task", None)
            if task is None or not task.done():
                continue
            if not task.cancelled() and task.exception() is not None:
                log.warning(
                    "event listener stopped; restarting", error=type(task.exception()).__name__
                )
            try:
                backend: RedisChannelsPubSubBackend = self.plugin._backend  # type: ignore[assignment]
                await backend.subscribe([EVENTS_CHANNEL])
                self.plugin._sub_task = asyncio.create_task(self.plugin._sub_worker())
                log.info("event listener restarted")
            except Exception as error:
                log.debug("event listener restart failed", error=type(error).__name__)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
