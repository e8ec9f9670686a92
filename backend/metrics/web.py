"""The scrape: the web process's counters (`counters.py`), the figures read from the database,
and the `/metrics` handler that app assembly registers (backend/app.py).

Webhooks and websockets are counted in memory by the process that serves them (each web process
is its own Prometheus target). Queue depth, oldest wait, agents and stored messages are read from
the database when scraped, so they are true whichever process changed them; worker counters come
from Redis (`shared.py`).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, AgentTeam, Presence, Team
from backend.conversations.models import Conversation, ConversationStatus
from backend.conversations.models import Message as ChatMessage
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.metrics.counters import REGISTRY, WEBHOOK_SECONDS, WEBHOOKS
from backend.metrics.shared import shared_families
from backend.sla.models import ClockState, SlaClock

HEARTBEAT_KEY = "switchboard:worker:heartbeat"  # renewed by worker.main.heartbeat


class WebhookMetricsMiddleware:
    """Counts every request under /webhooks/ by provider and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != ScopeType.HTTP or not path.startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        provider = path.split("/")[2] or "unknown"
        started = time.perf_counter()
        status = {"code": 500}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            WEBHOOKS.labels(provider, str(status["code"])).inc()
            WEBHOOK_SECONDS.labels(provider).observe(time.perf_counter() - started)


class _Snapshot(Collector):
    """Families computed before the scrape (collectors are synchronous; the database is not)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


async def database_families(session: AsyncSession) -> list[Metric]:
    depth = GaugeMetricFamily(
        "switchboard_queue_depth", "Conversations waiting in a team's queue", labels=["team"]
    )
    oldest = GaugeMetricFamily(
        "switchboard_queue_oldest_wait_seconds",
        "How long the oldest queued conversation has waited",
        labels=["team"],
    )
    assigned = GaugeMetricFamily(
        "switchboard_conversations_assigned", "Conversations held by an agent", labels=["team"]
    )
    online = GaugeMetricFamily(
        "switchboard_agents", "Agents by presence", labels=["team", "presence"]
    )
    at_risk = GaugeMetricFamily(
        "switchboard_sla_clocks_at_risk",
        "Open SLA clocks past their warning point",
        labels=["team"],
    )
    messages = GaugeMetricFamily("switchboard_messages", "Stored messages by direction and status", labels=["direction", "status"])  # fmt: skip
    now = utcnow()
    teams = {t.id: t.name for t in (await session.execute(select(Team))).scalars()}
    queues = await session.execute(
        select(col(Conversation.team_id), col(Conversation.status), func.count(), func.min(col(Conversation.queued_at)))
        .where(col(Conversation.status).in_([ConversationStatus.queued.value, ConversationStatus.assigned.value]))
        .group_by(col(Conversation.team_id), col(Conversation.status))
    )  # fmt: skip
    figures: dict[int | None, dict[str, Any]] = {tid: {} for tid in teams}
    for team_id, status, number, first in queues.all():
        figures.setdefault(team_id, {})[status] = (number, first)
    for team_id, by_status in figures.items():
        name = teams.get(team_id, "none") if team_id is not None else "none"
        queued, first = by_status.get(ConversationStatus.queued.value, (0, None))
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        depth.add_metric([name], queued)
        oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
        assigned.add_metric([name], by_status.get(ConversationStatus.assigned.value, (0, None))[0])
    presence = await session.execute(
        select(col(AgentTeam.team_id), col(Agent.presence), func.count())
        .join(Agent, col(Agent.id) == col(AgentTeam.agent_id))
        .where(col(Agent.active).is_(True))
        .group_by(col(AgentTeam.team_id), col(Agent.presence))
    )
    counted: dict[tuple[int | None, str], int] = {(t, p): n for t, p, n in presence.all()}
    for team_id, name in teams.items():
        for state in Presence:
            online.add_metric([name, state.value], counted.get((team_id, state.value), 0))
    risky = await session.execute(
        select(col(SlaClock.team_id), func.count())
        .join(Conversation, col(Conversation.id) == col(SlaClock.conversation_id))
        .where(col(SlaClock.state) == ClockState.warned.value,
               col(Conversation.status) != ConversationStatus.resolved.value)
        .group_by(col(SlaClock.team_id))
    )  # fmt: skip
    risk = dict(risky.all())
    for team_id, name in teams.items():
        at_risk.add_metric([name], risk.get(team_id, 0))
    stored = await session.execute(
        select(col(ChatMessage.direction), col(ChatMessage.status), func.count()).group_by(
            col(ChatMessage.direction), col(ChatMessage.status)
        )
    )
    for direction, status, number in stored.all():
        messages.add_metric([direction, status], number)
    return [depth, oldest, assigned, online, at_risk, messages]


async def exposition(session: AsyncSession, redis: Redis, worker_alive: bool) -> bytes:
    worker = GaugeMetricFamily("switchboard_worker_up", "1 while a worker's heartbeat is fresh")
    worker.add_metric([], 1.0 if worker_alive else 0.0)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(
        _Snapshot([*(await database_families(session)), *(await shared_families(redis)), worker])
    )
    return generate_latest(REGISTRY) + generate_latest(scraped)


@get("/metrics", tags=["operations"], exclude_from_auth=True, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[bytes]:
    """Prometheus text format. With METRICS_TOKEN set only for that Bearer token (the figures
    name teams, templates and volumes); without it, serve it on an internal network only."""
    expected = context_of(request).settings.metrics_token
    if expected is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
            raise NotAuthorizedException("/metrics needs Authorization: Bearer <METRICS_TOKEN>")
    redis = context_of(request).redis
    try:
        alive = bool(await redis.exists(HEARTBEAT_KEY))
    except Exception:
        alive = False
    body = await exposition(db_session, redis, alive)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
