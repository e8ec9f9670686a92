"""After commit: every stored customer file asks the worker to fetch it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arq.connections import ArqRedis

from backend.core.hooks import on_events
from backend.media.jobs import enqueue_download
from backend.media.kinds import MEDIA_KINDS

if TYPE_CHECKING:
    from backend.realtime.models import Event


@on_events
async def fetch_inbound_media(queue: ArqRedis, events: list[Event]) -> None:
    for event in events:
        if event.type != "message.created":
            continue
        message = event.data.get("message") or {}
        if message.get("direction") == "inbound" and message.get("type") in MEDIA_KINDS:
            await enqueue_download(queue, int(message["id"]))
