"""The websocket: replay from the events table after `seq`, then live events, with no gap.

The socket subscribes to live events first and buffers them, then replays what the database has
after `after`, then drains the buffer skipping what it already sent. A jump in the live sequence
(a slow publish from another process, or events dropped while Redis reconnected) is filled from
the database before going on, so every agent sees every event it may see, in order, once.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from litestar import Request, WebSocket, get, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect, WebSocketException
from litestar.params import Parameter
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import (
    SESSION_COOKIE,
    CurrentAgent,
    load_current_agent,
    token_epoch,
)
from backend.agents.models import Role
from backend.agents.services import is_revoked
from backend.conversations.visibility import granted, may_see
from backend.core.allowlists import admin_allowed, client_address
from backend.core.context import context_of
from backend.core.logging import get_logger
from backend.metrics.counters import WEBSOCKETS
from backend.realtime.audience import may_receive
from backend.realtime.events import EVENTS_CHANNEL, envelope
from backend.realtime.hub import BoundedSubscriber
from backend.realtime.models import Event
from backend.realtime.presence import connected, disconnected
from backend.realtime.retention import pruned_through

log = get_logger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403  # also: an admin outside ADMIN_ALLOWED_CIDRS (the reason says which)
CLOSE_TOO_SLOW = 4408
CLOSE_PRUNED = 4409
REPLAY_BATCH = 500


async def _authenticate(
    socket: WebSocket[Any, Any, Any],
) -> tuple[CurrentAgent, int, str | None] | None:
    """The agent, the session epoch and id of the token, or None when it is not a live session."""
    raw = socket.query_params.get("token") or socket.cookies.get(SESSION_COOKIE) or ""
    raw = raw.removeprefix("Bearer ").strip()
    if not raw:
        return None
    auth = socket.app.state.jwt_auth
    try:
        token = auth.token_cls.decode(raw, secret=auth.token_secret, algorithm=auth.algorithm)
        agent_id = int(token.sub)
    except Exception:
        return None
    context = context_of(socket)
    async with context.sessions() as session:
        if await is_revoked(session, str(token.jti) if token.jti else None):
            return None
    epoch = token_epoch(token)
    agent = await load_current_agent(context, agent_id, epoch)
    return (agent, epoch, str(token.jti) if token.jti else None) if agent is not None else None


def _origin_allowed(socket: WebSocket[Any, Any, Any]) -> bool:
    """CSRF middleware covers HTTP only: a page on another origin must not ride the cookie here."""
    origin = socket.headers.get("origin")
    if not origin:
        return True  # not a browser (business systems, tests): they authenticate with a token
    host = socket.headers.get("host", "")
    allowed = set(context_of(socket).settings.allowed_origins) | {
        f"http://{host}", f"https://{host}", context_of(socket).settings.public_base_url,
    }  # fmt: skip
    return origin.rstrip("/") in allowed


def _address_allowed(socket: WebSocket[Any, Any, Any], agent: CurrentAgent) -> bool:
    """`ADMIN_ALLOWED_CIDRS` fences an admin's socket as it fences their HTTP requests: the
    socket skips the HTTP guards (it authenticates itself), so the allowlist is applied here."""
    if agent.role != Role.admin.value:
        return True
    return admin_allowed(context_of(socket).settings, client_address(socket))


async def _events_after(
    socket: WebSocket[Any, Any, Any], after: int, upto: int | None = None
) -> list[Event]:
    query = select(Event).where(col(Event.seq) > after)
    if upto is not None:
        query = query.where(col(Event.seq) < upto)
    async with context_of(socket).sessions() as session:
        return list(
            (await session.execute(query.order_by(col(Event.seq)).limit(REPLAY_BATCH))).scalars()
        )


class Audience:
    """One agent's view of the event stream: the visibility rule plus the grants it learns."""

    def __init__(self, agent: CurrentAgent, granted: set[int]) -> None:
        self.agent = agent
        self.granted = granted

    def sees(self, type_: str, routing: Routing) -> bool:
        if (
            type_ == "notification.created"
            and routing.recipient_id == self.agent.id
            and routing.conversation_id is not None
        ):
            self.granted.add(routing.conversation_id)  # a mention lets the agent in from now on
        if not may_receive(self.agent.role, type_):
            return False  # a configuration event for leads or admins only
        return may_see(
            self.agent, routing.team_id, routing.assignee_id,
            conversation_id=routing.conversation_id, granted=self.granted,
            recipient_id=routing.recipient_id,
        )  # fmt: skip


class SessionEnded(Exception):
    """The agent's sessions were ended (deactivated, password reset) while this socket was open."""


class _Stream:
    """Sends the events an agent may see, in order, each once."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], audience: Audience, last: int, epoch: int = 0,
        session_id: str | None = None,
    ) -> None:  # fmt: skip
        self.socket = socket
        self.audience = audience
        self.last = last
        self.epoch = epoch
        self.session_id = session_id

    def check_session(self, ended: EndedSessions | None) -> None:
        """`agent.sessions_ended` for this agent, past this socket's epoch, ends the socket
        (unless this socket's session is the one kept)."""
        if (
            ended is not None and ended.agent_id == self.audience.agent.id
            and ended.epoch > self.epoch
            and (ended.keep is None or ended.keep != self.session_id)
        ):  # fmt: skip
            raise SessionEnded

    async def send_row(self, event: Event) -> None:
        assert event.seq is not None
        if event.seq <= self.last:
            return
        self.last = event.seq
        self.check_session(_ended_session(event.type, event.data))
        if self.audience.sees(event.type, Routing.of(event)):
            await self.socket.send_text(json.dumps(envelope(event)))

    async def catch_up(self, upto: int | None = None) -> None:
        while True:
            rows = await _events_after(self.socket, self.last, upto)
            for row in rows:
                await self.send_row(row)
            if len(rows) < REPLAY_BATCH:
                return

    async def send_live(self, raw: bytes) -> None:
        live = decode_live(raw)
        if live.seq <= self.last:
            return
        if live.seq > self.last + 1:
            await self.catch_up(upto=live.seq)  # fill a gap from the record before going on
        if live.seq <= self.last:
            return
        self.last = live.seq
        self.check_session(live.ended)
        if self.audience.sees(live.type, live.routing):
            await self.socket.send_text(live.text)


@dataclass(frozen=True)
class EndedSessions:
    """`agent.sessions_ended`: whose sessions, the epoch they are valid from, the one kept."""

    agent_id: int
    epoch: int
    keep: str | None = None


def _ended_session(type_: str, data: Any) -> EndedSessions | None:
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


class _LiveCache:
    """Decoded frames by their bytes, bounded by total size, not by count: 2,048 entries of a few
    megabytes each (media captions, long texts before ingest capped them) kept a web process at
    1.3 GB. Frames larger than `largest` are decoded each time and never kept."""

    def __init__(self, budget: int = 16 * 1024 * 1024, largest: int = 256 * 1024) -> None:
        self.budget, self.largest, self.used = budget, largest, 0
        self.entries: OrderedDict[bytes, LiveEvent] = OrderedDict()

    def get(self, raw: bytes) -> LiveEvent | None:
        found = self.entries.get(raw)
        if found is not None:
            self.entries.move_to_end(raw)
        return found

    def put(self, raw: bytes, event: LiveEvent) -> None:
        size = len(raw) + len(event.text)
        if size > self.largest or raw in self.entries:
            return
        self.entries[raw] = event
        self.used += size
        while self.used > self.budget:
            old_raw, old = self.entries.popitem(last=False)
            self.used -= len(old_raw) + len(old.text)


_LIVE = _LiveCache()


def decode_live(raw: bytes) -> LiveEvent:
    """Once per event per process, not once per socket: every socket here gets the same bytes."""
    cached = _LIVE.get(raw)
    if cached is not None:
        return cached
    event = _decode_live(raw)
    _LIVE.put(raw, event)
    return event


def _decode_live(raw: bytes) -> LiveEvent:
    frame = json.loads(raw)
    routing = Routing(
        frame.get("conversation_id"), frame.pop("_team_id", None), frame.pop("_assignee_id", None),
        frame.pop("_recipient_id", None),
    )  # fmt: skip
    ended = _ended_session(str(frame.get("type")), frame.get("data"))
    return LiveEvent(int(frame["seq"]), str(frame["type"]), routing, json.dumps(frame), ended)


async def _latest_seq(socket: WebSocket[Any, Any, Any]) -> int:
    async with context_of(socket).sessions() as session:
        return int(
            (await session.execute(select(func.coalesce(func.max(col(Event.seq)), 0)))).scalar_one()
            or 0
        )


@websocket("/api/v1/ws", exclude_from_auth=True)
async def events_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
    # Everything that fixes the socket's position happens before the handshake completes, so an
    # event committed after the client sees the socket open is always delivered.
    signed_in = await _authenticate(socket)
    if signed_in is None:
        await socket.accept()
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="not signed in")
        return
    agent, epoch, session_id = signed_in
    if not _origin_allowed(socket):
        await socket.accept()
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    if not _address_allowed(socket, agent):
        await socket.accept()
        await socket.close(
            code=CLOSE_FORBIDDEN_ORIGIN, reason="admins may connect only from ADMIN_ALLOWED_CIDRS"
        )
        return
    after_param = socket.query_params.get("after")
    if after_param is not None and after_param.isdigit():
        start = int(after_param)
        async with context_of(socket).sessions() as session:
            pruned = await pruned_through(session)
        if start < pruned:
            await socket.accept()
            await socket.close(
                code=CLOSE_PRUNED, reason=f"events up to {pruned} were pruned: reload, then resume"
            )
            return
    else:
        start = await _latest_seq(socket)  # read before subscribing; catch_up covers the interval
    subscriber = await channels.subscribe([EVENTS_CHANNEL])
    assert isinstance(subscriber, BoundedSubscriber)
    try:
        await socket.accept()
    except Exception:
        await channels.unsubscribe(subscriber)
        raise
    await connected(context_of(socket), agent.id)
    WEBSOCKETS.inc()
    try:
        forward = asyncio.create_task(_forward(socket, agent, start, subscriber, epoch, session_id))
        listen = asyncio.create_task(_until_closed(socket))
        done, pending = await asyncio.wait({forward, listen}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and isinstance(task.exception(), Exception):
                error = task.exception()
                if not isinstance(error, WebSocketDisconnect | WebSocketException):
                    log.warning("websocket ended by an error", error=type(error).__name__)
    finally:
        await channels.unsubscribe(subscriber)
        WEBSOCKETS.dec()
        await disconnected(context_of(socket), agent.id)


async def _forward(
    socket: WebSocket[Any, Any, Any], agent: CurrentAgent, start: int,
    subscriber: BoundedSubscriber, epoch: int = 0, session_id: str | None = None,
) -> None:  # fmt: skip
    async with context_of(socket).sessions() as session:
        let_in = await granted(session, agent.id)
    stream = _Stream(socket, Audience(agent, let_in), start, epoch, session_id)
    try:
        await stream.catch_up()
        async for raw in subscriber.iter_events():
            await stream.send_live(raw)
            if subscriber.overflowed:
                await socket.close(code=CLOSE_TOO_SLOW, reason="too slow: resume with ?after=seq")
                return
    except SessionEnded:
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="the session was ended")


async def _until_closed(socket: WebSocket[Any, Any, Any]) -> None:
    """Reads (and ignores) what the client sends, to notice at once when it goes away."""
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return


@get("/api/v1/events", tags=["realtime"])
async def list_events(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
    after: int = Parameter(default=0, ge=0), limit: int = Parameter(default=200, ge=1, le=1000),
) -> dict[str, Any]:  # fmt: skip
    """The same replay over HTTP; `latest_seq` lets a client start a socket without missing anything."""
    rows = (
        await db_session.execute(
            select(Event).where(col(Event.seq) > after).order_by(col(Event.seq)).limit(limit)
        )
    ).scalars()
    agent = request.user
    audience = Audience(agent, await granted(db_session, agent.id))
    latest = int(
        (await db_session.execute(select(func.coalesce(func.max(col(Event.seq)), 0)))).scalar_one()
        or 0
    )
    return {
        "items": [envelope(e) for e in rows if audience.sees(e.type, Routing.of(e))],
        "latest_seq": latest,
        "pruned_through": await pruned_through(db_session),
    }
