"""Loading a flow from a file (the CLI and the demo seed share this)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.bots.models import BotFlow
from backend.bots.services import save_flow
from backend.channels.models import Channel
from backend.config import Settings
from backend.core.errors import ServiceError

DEMO_FLOW = Path(__file__).parent / "flows" / "demo.yaml"


async def default_channel_id(session: AsyncSession) -> int:
    channel = (
        await session.execute(select(Channel).where(col(Channel.is_default).is_(True)))
    ).scalar_one_or_none()
    if channel is None or channel.id is None:
        raise ServiceError(
            404, "there is no default channel yet: start the server once, or pass --channel"
        )
    return channel.id


async def load_flow_file(settings: Settings, path: str | Path, channel_id: int | None) -> BotFlow:
    """Reads, validates and activates a flow file; errors name the file's lines."""
    from backend.db.engine import create_engine, create_session_factory

    source = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            target = channel_id if channel_id is not None else await default_channel_id(session)
            flow = await save_flow(session, target, source)
            await session.commit()
            return flow
    finally:
        await engine.dispose()
