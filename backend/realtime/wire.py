"""Live frames written straight to uvicorn's transport: one write per socket per feed flush.

Why go below ASGI: with 200 agents and 200 webhooks/s each web process sends ~40,000 websocket
frames a second, and py-spy found about half of its event loop in `WebSocket.send_text`: per frame
and per socket, Litestar's send wrappers, uvicorn's `send` (which encodes the same str again, frames
it through websockets' `ServerProtocol` and calls `transport.write`, one `send()` syscall per frame).
The frame is the same bytes for every socket (server frames are unmasked and, with no extension
negotiated, not transformed), so here it is made once per event per process (`frame_of`, with
websockets' own `Frame.serialize`), and every frame due to one socket in one flush of the live feed
goes out in one `transport.write`.

What it knows, and checks before use (`DirectWriter.of`): uvicorn's websockets-sansio protocol
(`uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol`, uvicorn's default
when `websockets` is installed). Its bound `receive` is the ASGI receive the app is given (no
middleware here wraps receive), which `FeedSocket` keeps; `protocol.conn` is websockets'
`ServerProtocol` (its state and negotiated extensions), `protocol.transport` the connection, and
`protocol.writable` the event uvicorn's own `send` waits on while the transport is paused. Anything
else — another server, uvicorn's wsproto or legacy websockets implementation, a test client, or a
negotiated extension (permessage-deflate under `WEBSOCKET_COMPRESSION`: frames then differ per
socket) — gets no writer, and the socket keeps plain `send_text`.

What it keeps: backpressure as uvicorn's `send` does it (a write waits while the transport's buffer
is above its high-water mark; meanwhile the socket's inbox fills, and the slow-socket rule in
`realtime.routes` closes it with 4408 as before); no write once a close was sent or received or the
connection is lost (`WebSocketDisconnect`, as the send path raises). What it skips: the ASGI send
chain for these data frames — Litestar's wrapper (a disconnect check, made here on the protocol)
and `RequestIdMiddleware`'s (it only touches `http.response.start`). A middleware that had to see
each `websocket.send` would not see these frames; none does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import Receive
from prometheus_client import Counter
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from backend.metrics.counters import REGISTRY

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _Known,
    )
except ImportError:  # pragma: no cover - uvicorn is a dependency; another server may run us
    _Known = None  # type: ignore[assignment,misc]


# Which path each socket took, and how well the direct one coalesces (frames ÷ writes).
SOCKETS = Counter(
    "switchboard_websocket_sockets", "Websockets opened, by how live frames are sent to them "
    "(direct: one transport write per flush; asgi: send_text per frame)", ["path"],
    registry=REGISTRY,
)  # fmt: skip
DIRECT_WRITES = Counter(
    "switchboard_websocket_direct_writes", "Transport writes of live frames", registry=REGISTRY
)
DIRECT_FRAMES = Counter(
    "switchboard_websocket_direct_frames", "Live frames written directly", registry=REGISTRY
)


def frame_of(text: str) -> bytes:
    """A complete, unmasked text frame as a server sends it (RFC 6455 §5.2), by websockets."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class FeedSocket(WebSocket[Any, Any, Any]):
    """Litestar's WebSocket, keeping the ASGI receive it was given (to find the server's protocol)."""

    __slots__ = ("asgi_receive",)

    def receive_wrapper(self, receive: Receive) -> Receive:
        self.asgi_receive = receive
        return super().receive_wrapper(receive)


class DirectWriter:
    """Writes ready-made frames to one uvicorn websocket connection's transport."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport: asyncio.WriteTransport = protocol.transport

    @classmethod
    def of(cls, socket: WebSocket[Any, Any, Any]) -> DirectWriter | None:
        """A writer when the socket is served by the implementation this module knows, with no
        extension negotiated and the handshake done; None otherwise (send through ASGI)."""
        receive = getattr(socket, "asgi_receive", None)
        protocol = getattr(receive, "__self__", None)
        if _Known is None or type(protocol) is not _Known:
            return None
        if getattr(receive, "__func__", None) is not _Known.receive:
            return None
        conn = getattr(protocol, "conn", None)
        if not isinstance(conn, ServerProtocol) or conn.extensions:
            return None
        transport = getattr(protocol, "transport", None)
        writable = getattr(protocol, "writable", None)
        if not isinstance(writable, asyncio.Event) or not hasattr(transport, "write"):
            return None
        writer = cls(protocol)
        return writer if protocol.handshake_complete and writer.open() else None

    @classmethod
    def for_socket(cls, socket: WebSocket[Any, Any, Any]) -> DirectWriter | None:
        """`of`, counted by path."""
        writer = cls.of(socket)
        SOCKETS.labels("direct" if writer is not None else "asgi").inc()
        return writer

    def open(self) -> bool:
        protocol = self.protocol
        return (
            not protocol.close_sent and not protocol.disconnected
            and protocol.conn.state is State.OPEN and not self.transport.is_closing()
        )  # fmt: skip

    async def write(self, frames: list[bytes]) -> None:
        """All the frames in one write, after the transport drained below its high-water mark."""
        if not frames:
            return
        await self.protocol.writable.wait()  # as uvicorn's send: paused above the high-water mark
        if not self.open():  # checked after the wait: nothing is written after a close
            raise WebSocketDisconnect(detail="the connection is closed")
        self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        DIRECT_WRITES.inc()
        DIRECT_FRAMES.inc(len(frames))
