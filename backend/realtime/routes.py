"""The websocket: replay from the events table after `seq`, then live events, with no gap.

The socket joins the process's live feed first (`realtime.fanout`: one subscriber per process,
events decoded, ordered and their gaps filled there once), then replays what the database has
after `after`, then drains its inbox skipping what it already sent, so every agent sees every
event it may see, in order, once. What it may see is decided here by `Audience`, which applies
`conversations.visibility.may_see` (the one rule) and `realtime.audience.may_receive`.

A socket takes whatever its inbox holds at once and sends what the agent may see in one
transport write where the server is the one `realtime.wire` knows (the frames are made once per
process), or frame by frame through `send_text` otherwise (another server, a test client,
permessage-deflate). The replay is sent frame by frame.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from litestar import Request, WebSocket, get, websocket
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
from backend.realtime.events import envelope
from backend.realtime.fanout import (
    REPLAY_BATCH,
    EndedSessions,
    Inbox,
    LiveEvent,
    LiveFeed,
    Routing,
    ended_session,
    events_between,
    latest_seq,
)
from backend.realtime.models import Event
from backend.realtime.presence import connected, disconnected
from backend.realtime.retention import pruned_through
from backend.realtime.wire import DirectWriter, FeedSocket

log = get_logger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403  # also: an admin outside ADMIN_ALLOWED_CIDRS (the reason says which)
CLOSE_TOO_SLOW = 4408
CLOSE_PRUNED = 4409


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


def _feed(socket: WebSocket[Any, Any, Any]) -> LiveFeed:
    feed: LiveFeed = socket.app.state.live_feed
    return feed


_NO, _YES, _ASK = 0, 1, 2  # a class verdict: nobody of the class, everyone, ask per agent


class Audience:
    """One agent's view of the event stream: the visibility rule plus the grants it learns.

    For live events the rule is asked in two steps. Once per event for each class of sockets
    (role and teams), `may_see` is asked for no one in particular — an agent of that role and
    those teams whose id holds nothing and who has no grants — which is the part of the rule
    that holds for the whole class; only when that says no is the rule asked again for this
    agent (the holder and grants part). Events for one recipient are always asked per agent."""

    def __init__(self, agent: CurrentAgent, granted: set[int]) -> None:
        self.agent = agent
        self.granted = granted
        self.kind = (agent.role, agent.team_ids)
        self.anyone = dataclasses.replace(agent, id=-1)  # no conversation is held by id -1

    def sees_live(self, live: LiveEvent) -> bool:
        routing = live.routing
        if routing.recipient_id is not None:
            return self.sees(live.type, routing)
        verdict = live.verdicts.get(self.kind)
        if verdict is None:
            verdict = live.verdicts[self.kind] = self._class_verdict(live.type, routing)
        return self.sees(live.type, routing) if verdict == _ASK else verdict == _YES

    def _class_verdict(self, type_: str, routing: Routing) -> int:
        if not may_receive(self.agent.role, type_):
            return _NO
        seen = may_see(
            self.anyone, routing.team_id, routing.assignee_id,
            conversation_id=routing.conversation_id,
        )  # fmt: skip
        return _YES if seen else _ASK

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
        session_id: str | None = None, writer: DirectWriter | None = None,
    ) -> None:  # fmt: skip
        self.socket = socket
        self.audience = audience
        self.last = last
        self.epoch = epoch
        self.session_id = session_id
        self.writer = writer  # frames straight to the transport (realtime.wire), or send_text

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
        self.check_session(ended_session(event.type, event.data))
        if self.audience.sees(event.type, Routing.of(event)):
            await self.socket.send_text(json.dumps(envelope(event)))

    async def catch_up(self) -> None:
        """The replay from the events table after `last`, in batches, to its current end."""
        sessions = context_of(self.socket).sessions
        while True:
            rows = await events_between(sessions, self.last)
            for row in rows:
                await self.send_row(row)
            if len(rows) < REPLAY_BATCH:
                return

    async def send_live(self, batch: list[LiveEvent]) -> None:
        """The feed's stream has no holes (it fills them once for the process): what this socket
        has not sent yet is sent, if the agent may see it, in order — in one write when it can.
        An end of this agent's sessions ends the socket after the events before it."""
        due: list[LiveEvent] = []
        ended: SessionEnded | None = None
        for live in batch:
            if live.seq <= self.last:
                continue
            self.last = live.seq
            try:
                self.check_session(live.ended)
            except SessionEnded as error:
                ended = error
                break
            if self.audience.sees_live(live):
                due.append(live)
        if self.writer is not None:
            await self.writer.write([live.frame for live in due])
        else:
            for live in due:
                await self.socket.send_text(live.text)
        if ended is not None:
            raise ended


@websocket("/api/v1/ws", exclude_from_auth=True, websocket_class=FeedSocket)
async def events_socket(socket: WebSocket[Any, Any, Any]) -> None:
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
        start = await latest_seq(context_of(socket).sessions)  # catch_up covers what follows
    feed = _feed(socket)
    await feed.start()
    inbox = feed.join()  # before the replay reads the table: see backend/realtime/fanout.py
    try:
        await socket.accept()
    except Exception:
        feed.leave(inbox)
        raise
    await connected(context_of(socket), agent.id)
    WEBSOCKETS.inc()
    try:
        forward = asyncio.create_task(_forward(socket, agent, start, inbox, epoch, session_id))
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
        feed.leave(inbox)
        WEBSOCKETS.dec()
        await disconnected(context_of(socket), agent.id)


async def _forward(
    socket: WebSocket[Any, Any, Any], agent: CurrentAgent, start: int,
    inbox: Inbox, epoch: int = 0, session_id: str | None = None,
) -> None:  # fmt: skip
    async with context_of(socket).sessions() as session:
        let_in = await granted(session, agent.id)
    writer = DirectWriter.for_socket(socket)
    stream = _Stream(socket, Audience(agent, let_in), start, epoch, session_id, writer)
    try:
        await stream.catch_up()
        while True:
            batch, resume = await inbox.next_batch()
            await stream.send_live(batch)
            if resume or inbox.overflowed:  # the client resumes from the last it got
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
