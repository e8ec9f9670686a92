"""The process's copy of its Cloud API channels, so a webhook is verified before any database work.

Every webhook used to read the channels table (and decrypt their secrets) before it could check
the signature; on SQLite that read also waited for the one connection the group commit writes on.
Here the channels are read once and kept until this process commits a change to a channel (a
session event below notices it), or for `TTL` seconds when another process (the CLI, a second web
process) may have changed them. A webhook that no kept channel can verify (a channel just added
elsewhere) makes one fresh read before it is refused, at most once per `MISS_INTERVAL`, so bad
signatures cannot turn into a read per request. What another process changed can be stale here
for up to `TTL`: a secret it retired, or a channel it removed, still verifies for that long — the
admin who retires a secret has already waited out its overlap. Concurrent webhooks that find the
copy stale share one read (`_reading`): a burst of requests at the end of a TTL used to make one
read each.

The kept `Channel` rows are detached snapshots: callers read them or `session.merge(load=False)`
them into their own session, never change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col, select

from backend.channels.models import Channel, ProviderKind
from backend.channels.services import app_secrets
from backend.channels.whatsapp.signature import verify
from backend.core.context import AppContext

TTL = 5.0
MISS_INTERVAL = 0.2
_KEY = "cloud_channels"
_CHANGED = "switchboard.channels_changed"
_generation = 0  # bumped by every commit of this process that changed a channel


@event.listens_for(Session, "after_flush")
def _noticed(session: Session, _context: Any) -> None:
    if any(isinstance(o, Channel) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


@dataclass(frozen=True)
class Verified:
    """The channels a body's signature verifies under, and every kept channel by number."""

    signers: list[Channel]
    by_number: dict[str, Channel]


class KnownChannels:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._channels: list[Channel] = []
        self._loaded_at = float("-inf")
        self._missed_at = float("-inf")
        self._generation = -1
        self._reading: asyncio.Future[None] | None = None

    async def all(self) -> list[Channel]:
        if self._generation != _generation or time.monotonic() - self._loaded_at > TTL:
            await self._load()
        return self._channels

    async def verify(self, raw: bytes, header: str) -> Verified:
        """Which channels signed `raw`; a miss re-reads the table once before it is believed."""
        channels = await self.all()
        signers = _signers(channels, raw, header)
        now = time.monotonic()
        if not signers and now - self._missed_at > MISS_INTERVAL:
            self._missed_at = now
            await self._load(fresh=True)
            channels = self._channels
            signers = _signers(channels, raw, header)
        return Verified(signers, {c.phone_number_id: c for c in channels})

    async def _load(self, *, fresh: bool = False) -> None:
        """One read of the table at a time; whoever needs it meanwhile waits for that one. A
        `fresh` caller (a miss) does not trust a read already under way, which may predate the
        channel it looks for: it waits for that one to end, then shares the next."""
        if fresh and self._reading is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._reading)
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(self._read_done)
        await asyncio.shield(self._reading)  # one caller going away does not cancel the others'

    def _read_done(self, reading: asyncio.Future[None]) -> None:
        self._reading = None
        if not reading.cancelled():
            reading.exception()  # retrieved here; each waiter gets it from its own await

    async def _read(self) -> None:
        generation = _generation  # a change committed while this read runs forces another
        async with self._sessions() as session:
            query = select(Channel).where(col(Channel.provider) == ProviderKind.cloud_api.value)
            channels = list((await session.execute(query)).scalars())  # secrets decrypted here
            session.expunge_all()
        self._channels, self._loaded_at = channels, time.monotonic()
        self._generation = generation


def _signers(channels: list[Channel], raw: bytes, header: str) -> list[Channel]:
    return [c for c in channels if any(verify(raw, header, s) for s in app_secrets(c))]


def known_channels_of(context: AppContext) -> KnownChannels:
    """The process's one copy (made on first use, kept in the context's extras)."""
    found = context.extras.get(_KEY)
    if not isinstance(found, KnownChannels):
        found = context.extras[_KEY] = KnownChannels(context.sessions)
    return found
