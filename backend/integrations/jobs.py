"""The worker's webhook jobs: fan events out into deliveries, send one delivery, sweep.

Every job is idempotent (arq is at-least-once): the fan-out is a cursor with unique deliveries,
a send holds a lease, and the sweep only enqueues what is due under job ids that collapse
duplicates. No transaction is open while a receiver is being called.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import func, or_
from sqlmodel import col, select

from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.db.engine import serialize_writes
from backend.db.types import utcnow
from backend.integrations.delivery import attempt_row, post_once, record_outcome, take_lease
from backend.integrations.endpoints import refresh_active_flag
from backend.integrations.fanout import fan_out
from backend.integrations.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = get_logger(__name__)

FAN_OUT_JOB = "webhook_fan_out"
DELIVER_JOB = "deliver_webhook"
_SWEEP_LIMIT = 500


def build_webhook_client() -> httpx.AsyncClient:
    """Receivers are strangers: no redirects, no proxy settings from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=httpx.Timeout(10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )  # fmt: skip


async def enqueue_delivery(
    queue: ArqRedis, delivery_id: int, attempt: int | str, delay: float | None = None
) -> None:
    try:
        await queue.enqueue_job(
            DELIVER_JOB, delivery_id, _job_id=f"whd:{delivery_id}:{attempt}",
            _defer_by=timedelta(seconds=delay) if delay else None,
        )  # fmt: skip
    except Exception as error:
        log.warning("webhook enqueue failed; the sweep will retry", error=type(error).__name__)


async def _fan_out_all(app: AppContext) -> int:
    made = 0
    for _ in range(20):  # at most 10,000 events a run; the next run goes on
        async with app.sessions() as session:
            new_ids, more = await fan_out(session)
            await session.commit()
        for delivery_id in new_ids:
            await enqueue_delivery(app.queue, delivery_id, 0)
        made += len(new_ids)
        if not more:
            break
    return made


async def webhook_fan_out(ctx: dict[str, Any]) -> int:
    """Turns the events committed since the cursor into deliveries and enqueues them."""
    app: AppContext = ctx["app"]
    return await _fan_out_all(app)


async def deliver_webhook(ctx: dict[str, Any], delivery_id: int) -> str:
    app: AppContext = ctx["app"]
    client: httpx.AsyncClient = app.extras["webhook_http"]
    async with app.sessions() as session:
        if not await take_lease(session, delivery_id, utcnow()):
            return "not due"
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        assert endpoint is not None
        if endpoint.state != EndpointState.active.value:
            delivery.lease_until = None  # waits, pending, until the endpoint is enabled again
            await session.commit()
            return "endpoint disabled"
        await session.commit()  # no transaction (nor SQLite's write lock) while we call out
        result = await post_once(client, app.settings, endpoint, delivery)
        now = utcnow()
        await serialize_writes(session)
        await session.refresh(endpoint)
        await session.refresh(delivery)
        first = (
            await session.execute(
                select(func.min(WebhookAttempt.at)).where(
                    col(WebhookAttempt.delivery_id) == delivery_id,
                    col(WebhookAttempt.at) >= delivery.retry_from,
                )
            )
        ).scalar_one_or_none()
        delay = record_outcome(app.settings, endpoint, delivery, result, now, first or now)
        session.add(attempt_row(delivery_id, result, now))
        attempts = delivery.attempts
        await session.commit()
    if delay is not None:
        await enqueue_delivery(app.queue, delivery_id, attempts, delay)
    return delivery.state


async def redeliver(app_queue: ArqRedis, delivery_id: int) -> None:
    await enqueue_delivery(app_queue, delivery_id, f"redeliver-{uuid.uuid4().hex}")


async def webhook_sweep(ctx: dict[str, Any]) -> int:
    """Cron: fans out what no hook announced, and re-enqueues due deliveries whose job Redis
    lost or whose worker died holding the lease."""
    app: AppContext = ctx["app"]
    await _fan_out_all(app)
    now = utcnow()
    async with app.sessions() as session:
        await refresh_active_flag(session, app.redis)
        due = list(
            (
                await session.execute(
                    select(col(WebhookDelivery.id), col(WebhookDelivery.attempts))
                    .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
                    .where(
                        col(WebhookDelivery.state) == DeliveryState.pending.value,
                        col(WebhookEndpoint.state) == EndpointState.active.value,
                        col(WebhookDelivery.next_attempt_at) <= now,
                        or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now),
                    )
                    .order_by(col(WebhookDelivery.id))
                    .limit(_SWEEP_LIMIT)
                )
            ).all()
        )  # fmt: skip
    for delivery_id, attempts in due:
        assert delivery_id is not None
        await enqueue_delivery(app.queue, delivery_id, attempts)
    return len(due)
