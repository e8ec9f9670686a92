"""The process's copy of its channels: a burst of webhooks that finds it stale makes one read."""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.channels.whatsapp.known_channels import KnownChannels
from backend.core.context import AppContext


async def test_concurrent_callers_share_one_read_and_a_miss_reads_afresh(ctx: AppContext) -> None:
    reads: list[str] = []

    def seen(_c, _cur, statement, _p, _ctx, _many):  # type: ignore[no-untyped-def]
        if "FROM channels" in statement:
            reads.append(statement)

    known = KnownChannels(ctx.sessions)
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        first = await asyncio.gather(*(known.all() for _ in range(25)))
        assert len(reads) == 1 and all(c == first[0] for c in first)
        assert first[0], "the default channel is kept"
        await known.all()
        assert len(reads) == 1, "kept until the TTL or a change"
        # A body no kept channel signs makes one fresh read before it is refused.
        verified = await known.verify(b"{}", "sha256=" + "0" * 64)
        assert verified.signers == [] and len(reads) == 2
        await known.verify(b"{}", "sha256=" + "0" * 64)
        assert len(reads) == 2, "a second miss within MISS_INTERVAL reads nothing"
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
