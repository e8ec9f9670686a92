"""Fan-out once per process: one subscriber, one decode, one ordered stream for every socket.

Each web process holds one `LiveFeed`. It is the only subscriber to the events channel: every event
published live is decoded here once (its routing fields taken off, its frame text and its websocket
frame bytes made once — the frame is the same bytes for every socket that may see it), put in `seq`
order, and handed to the inbox of each socket of this process. A socket then takes everything its
inbox holds at once (`Inbox.next_batch`), asks the visibility rule (`realtime.routes.Audience`,
over `conversations.visibility.may_see`; the part that holds for a whole role and set of teams is
answered once per event for each such class, in `LiveEvent.verdicts`) and sends what it may see in
one write (`realtime.wire`) or, where that is not possible, frame by frame.

Order, and gaps, are handled here once rather than by each socket. Events from several processes
reach Redis in publish order, not commit order, so N+1 may arrive before N. The feed holds what is
ahead for a short reorder window (`REORDER_WINDOW`); if N has not arrived by then (a slow publish,
events dropped while Redis reconnected or while this feed's own backlog was full, a number a rolled
back transaction used), it reads the missing range from the events table once, for all sockets, and
goes on. What the database has in that range at that moment is what every socket gets — as each
socket's own read did before.

Why no socket can miss an event: sequence numbers are handed out in commit order
(`realtime.events`), so once the feed has passed N every event up to N that will ever exist is
committed. A socket joins the feed first and replays the events table after its start point only
then, so whatever the feed passed before the socket joined is in its replay; after that the socket
skips what it already sent (`_Stream.last`) and the feed's stream has no holes to fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from litestar.channels import ChannelsPlugin
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from backend.core.logging import get_logger
from backend.metrics.counters import LIVE_GAP_READS
from backend.realtime.events import EVENTS_CHANNEL, envelope
from backend.realtime.hub import MAX_BACKLOG, BoundedSubscriber
from backend.realtime.models import Event
from backend.realtime.wire import frame_of

log = get_logger(__name__)

REORDER_WINDOW = 0.02  # seconds an event ahead of a missing one waits before the table is read
REPLAY_BATCH = 500
SEND_BATCH = 256  # events a socket takes from its inbox at most for one write


@dataclass(frozen=True)
class EndedSessions:
    """`agent.sessions_ended`: whose sessions, the epoch they are valid from, the one kept."""

    agent_id: int
    epoch: int
    keep: str | None = None


def ended_session(type_: str, data: Any) -> EndedSessions | None:
    if type_ != "agent.sessions_ended" or not isinstance(data, dict):
        return None
    agent, epoch, keep = data.get("agent") or {}, data.get("epoch"), data.get("keep")
    agent_id = agent.get("id") if isinstance(agent, dict) else None
    if not isinstance(agent_id, int) or not isinstance(epoch, int):
        return None
    return EndedSessions(agent_id, epoch, keep if isinstance(keep, str) else None)


@dataclass(frozen=True)
class Routing:
    """What the visibility rule needs to know about an event: travels with it on Redis."""

    conversation_id: int | None
    team_id: int | None
    assignee_id: int | None
    recipient_id: int | None

    @classmethod
    def of(cls, event: Event) -> Routing:
        return cls(event.conversation_id, event.team_id, event.assignee_id, event.recipient_id)


@dataclass(frozen=True)
class LiveEvent:
    seq: int
    type: str
    routing: Routing
    text: str  # the frame as sent to browsers, without the routing fields
    ended: EndedSessions | None = None
    frame: bytes = b""  # `text` as a complete websocket text frame (made once per process)
    # The visibility rule's answer for a class of sockets (role, teams), asked once per event
    # for each class: see realtime.routes.Audience.
    verdicts: dict[Any, int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, seq: int, type_: str, routing: Routing, text: str,
           ended: EndedSessions | None) -> LiveEvent:  # fmt: skip
        return cls(seq, type_, routing, text, ended, frame_of(text))


def decode_live(raw: bytes) -> LiveEvent:
    """A published event as the feed hands it on: once per event per process."""
    frame = json.loads(raw)
    routing = Routing(
        frame.get("conversation_id"), frame.pop("_team_id", None), frame.pop("_assignee_id", None),
        frame.pop("_recipient_id", None),
    )  # fmt: skip
    ended = ended_session(str(frame.get("type")), frame.get("data"))
    return LiveEvent.of(int(frame["seq"]), str(frame["type"]), routing, json.dumps(frame), ended)


def live_of(event: Event) -> LiveEvent:
    """A row of the events table in the form the feed hands on (a gap read from the table)."""
    assert event.seq is not None
    return LiveEvent.of(
        event.seq, event.type, Routing.of(event), json.dumps(envelope(event)),
        ended_session(event.type, event.data),
    )  # fmt: skip


async def latest_seq(sessions: async_sessionmaker[AsyncSession]) -> int:
    """The highest seq committed so far (0 for none)."""
    async with sessions() as session:
        found = await session.execute(select(func.coalesce(func.max(col(Event.seq)), 0)))
        return int(found.scalar_one() or 0)


async def events_between(
    sessions: async_sessionmaker[AsyncSession], after: int, upto: int | None = None
) -> list[Event]:
    """Up to `REPLAY_BATCH` events with after < seq (< upto), in order."""
    query = select(Event).where(col(Event.seq) > after)
    if upto is not None:
        query = query.where(col(Event.seq) < upto)
    async with sessions() as session:
        return list(
            (await session.execute(query.order_by(col(Event.seq)).limit(REPLAY_BATCH))).scalars()
        )


class Inbox:
    """One socket's share of the feed: bounded, so a socket that cannot keep up is told so
    (it is closed, and its client resumes with `after`) instead of holding memory.

    `None` in the queue means "resume now": the feed could not fill a gap, so nothing after it
    may be sent."""

    def __init__(self, size: int = MAX_BACKLOG) -> None:
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(size)
        self.overflowed = False

    def put(self, event: LiveEvent) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True  # closed after its current send; the client resumes from there

    async def next_batch(self, most: int = SEND_BATCH) -> tuple[list[LiveEvent], bool]:
        """What the inbox holds (waiting for at least one item), up to `most` events, in order,
        and whether a resume marker ended it (nothing after the marker may be sent). The feed
        hands on everything that arrived together before a socket runs, so a socket takes one
        flush of the feed at a time and can send it in one write."""
        batch: list[LiveEvent] = []
        item = await self.queue.get()
        while True:
            if item is None:
                return batch, True
            batch.append(item)
            if len(batch) >= most or self.queue.empty():
                return batch, False
            item = self.queue.get_nowait()

    def resume(self) -> None:
        if not self.overflowed:
            try:
                self.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self.overflowed = True


class LiveFeed:
    """The process's one subscriber: decodes, orders, fills gaps once, hands on to every inbox."""

    def __init__(
        self, channels: ChannelsPlugin, sessions: async_sessionmaker[AsyncSession],
        window: float = REORDER_WINDOW,
    ) -> None:  # fmt: skip
        self.channels = channels
        self.sessions = sessions
        self.window = window
        self.inboxes: set[Inbox] = set()
        self.last: int | None = None  # the highest seq handed on (set by `start`)
        self.ahead: dict[int, LiveEvent] = {}  # arrived before a missing one
        self._subscriber: BoundedSubscriber | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Subscribes once, on the first socket (the channels plugin is up by then).

        The feed starts after the highest committed seq, read before any socket joins: everything
        up to it is in every socket's replay (which reads the table after joining), and anything
        committed after it reaches the feed live or as a gap it fills. Starting from the first
        event that happens to arrive instead would lose an earlier one published later."""
        async with self._starting:
            if self._task is not None:
                return
            self.last = await latest_seq(self.sessions)
            subscriber = await self.channels.subscribe([EVENTS_CHANNEL])
            assert isinstance(subscriber, BoundedSubscriber)
            self._subscriber = subscriber
            self._task = asyncio.create_task(self._run(subscriber))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscriber is not None:
            with contextlib.suppress(Exception):
                await self.channels.unsubscribe(self._subscriber)
            self._subscriber = None

    def join(self) -> Inbox:
        inbox = Inbox()
        self.inboxes.add(inbox)
        return inbox

    def leave(self, inbox: Inbox) -> None:
        self.inboxes.discard(inbox)

    async def _run(self, subscriber: BoundedSubscriber) -> None:
        """Never ends while the process runs: after an unexpected error every socket here is
        told to resume (from its own seq) and the feed starts afresh."""
        while True:
            try:
                await self._consume(subscriber)
                return
            except Exception as error:
                log.error("live feed failed; sockets told to resume", error=type(error).__name__)
                self._resume_all(self.last)

    async def _consume(self, subscriber: BoundedSubscriber) -> None:
        loop = asyncio.get_running_loop()
        deadline = 0.0
        while True:
            try:
                if self.ahead and not subscriber.ready():
                    left = deadline - loop.time()
                    if left <= 0:
                        raise TimeoutError
                    raw = await asyncio.wait_for(subscriber.next_event(), left)
                else:
                    raw = await subscriber.next_event()  # what has arrived is taken before a read
            except TimeoutError:
                await self._fill()
                continue
            if raw is None:
                return
            try:
                event = decode_live(raw)
            except (ValueError, KeyError, TypeError):
                log.warning("undecodable live event dropped")
                continue
            had_gap = bool(self.ahead)
            self._arrive(event)
            if len(self.ahead) >= MAX_BACKLOG:
                await self._fill()  # too much held back: the table has it all
            elif self.ahead and not had_gap:
                deadline = loop.time() + self.window

    def _arrive(self, event: LiveEvent) -> None:
        if self.last is None:
            self.last = event.seq - 1  # not started through `start` (never in the app)
        if event.seq <= self.last:
            return  # already handed on (read from the table for a gap, or a duplicate)
        if event.seq > self.last + 1:
            self.ahead[event.seq] = event  # wait for the ones before it, for a moment
            return
        self._hand_on(event)
        self._release()

    def _resume_all(self, last: int | None) -> None:
        """Every socket here closes before its next event and its client resumes from its own
        seq (the replay has what the feed could not give); the feed goes on after `last`."""
        for inbox in self.inboxes:
            inbox.resume()
        self.ahead.clear()
        self.last = last

    def _hand_on(self, event: LiveEvent) -> None:
        self.last = event.seq
        for inbox in self.inboxes:
            inbox.put(event)

    def _release(self) -> None:
        """Hands on what was waiting for the event just handed on."""
        assert self.last is not None
        while (following := self.ahead.pop(self.last + 1, None)) is not None:
            self._hand_on(following)

    async def _fill(self) -> None:
        """The window passed with a number still missing: read the range once, for everyone."""
        if not self.ahead or self.last is None:
            return
        upto = max(self.ahead)
        LIVE_GAP_READS.inc()
        while self.last is not None and self.last + 1 < upto:
            try:
                rows = await events_between(self.sessions, self.last, upto)
            except Exception as error:
                # Storage down: nobody can be given the range, so every socket here is closed
                # before its next event and its client resumes from its own seq.
                log.warning("gap read failed; sockets told to resume", error=type(error).__name__)
                self._resume_all(upto)
                return
            for row in rows:
                assert row.seq is not None
                if row.seq > self.last:
                    self.ahead.setdefault(row.seq, live_of(row))
            if len(rows) < REPLAY_BATCH:
                break
            self._advance_through(rows[-1].seq or self.last)
        self._advance_through(upto)

    def _advance_through(self, upto: int) -> None:
        """Hands on, in order, everything held up to `upto`; numbers nobody has are skipped."""
        for seq in sorted(s for s in self.ahead if s <= upto):
            self._hand_on(self.ahead.pop(seq))
        assert self.last is not None
        self.last = max(self.last, upto)
        self._release()
