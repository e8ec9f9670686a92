"""Who is looking at a conversation right now, so two agents don't type the same answer.

Ephemeral by nature, so it lives only in Redis: each open conversation view renews a key with a
short TTL; a closed tab simply stops renewing. Losing Redis loses nothing worth keeping.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get, post
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.visibility import get_visible
from backend.core.context import context_of

VIEW_TTL_SECONDS = 30


def _key(conversation_id: int) -> str:
    return f"switchboard:viewers:{conversation_id}"


async def mark_viewing(redis: Redis, conversation_id: int, agent: CurrentAgent) -> None:
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(_key(conversation_id), {f"{agent.id}:{agent.name}": now})
        pipe.zremrangebyscore(_key(conversation_id), 0, now - VIEW_TTL_SECONDS)
        pipe.expire(_key(conversation_id), VIEW_TTL_SECONDS)
        await pipe.execute()


async def viewers(redis: Redis, conversation_id: int) -> list[dict[str, Any]]:
    members = await redis.zrangebyscore(
        _key(conversation_id), time.time() - VIEW_TTL_SECONDS, "+inf"
    )
    result = []
    for member in members:
        agent_id, _, name = member.decode().partition(":")
        result.append({"id": int(agent_id), "name": name})
    return result


@post(
    "/api/v1/conversations/{conversation_id:int}/viewers", status_code=200, tags=["conversations"]
)
async def i_am_viewing(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, conversation_id: int
) -> dict[str, list[dict[str, Any]]]:
    """A heartbeat from an open conversation view (every ~10 s); answers who else is there."""
    await get_visible(db_session, request.user, conversation_id)
    redis = context_of(request).redis
    await mark_viewing(redis, conversation_id, request.user)
    return {
        "items": [v for v in await viewers(redis, conversation_id) if v["id"] != request.user.id]
    }


@get("/api/v1/conversations/{conversation_id:int}/viewers", tags=["conversations"])
async def who_is_viewing(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, conversation_id: int
) -> dict[str, list[dict[str, Any]]]:
    await get_visible(db_session, request.user, conversation_id)
    return {"items": await viewers(context_of(request).redis, conversation_id)}
