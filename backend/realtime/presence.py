"""Presence from websockets: online while an agent has a socket open anywhere, else offline.

Redis counts open sockets per agent across web processes (a fast counter, with a TTL so a crashed
process cannot pin an agent online forever); the database keeps the presence itself. An explicit
"away" set by the agent is kept while they stay connected.
"""

from __future__ import annotations

from backend.agents.models import Presence
from backend.agents.services import AgentError, set_presence
from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.realtime.events import commit_and_publish

log = get_logger(__name__)

_TTL = 24 * 3600


def _key(agent_id: int) -> str:
    return f"switchboard:sockets:{agent_id}"


async def _set(app: AppContext, agent_id: int, presence: Presence, only_from: set[str]) -> None:
    async with app.sessions() as session:
        try:
            await set_presence(session, agent_id, presence.value, only_from)
        except AgentError:
            return
        await commit_and_publish(session, app.redis)


async def connected(app: AppContext, agent_id: int) -> None:
    try:
        count = await app.redis.incr(_key(agent_id))
        await app.redis.expire(_key(agent_id), _TTL)
    except Exception as error:
        log.debug("presence count failed", error=type(error).__name__)
        count = 1
    if count == 1:
        await _set(app, agent_id, Presence.online, {Presence.offline.value})


async def disconnected(app: AppContext, agent_id: int) -> None:
    try:
        count = await app.redis.decr(_key(agent_id))
    except Exception as error:
        log.debug("presence count failed", error=type(error).__name__)
        return
    if count <= 0:
        await app.redis.delete(_key(agent_id))
        await _set(app, agent_id, Presence.offline, {Presence.online.value, Presence.away.value})
