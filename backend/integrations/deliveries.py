"""Reading and resetting deliveries for the deliveries page (the sending is in `delivery`)."""

from __future__ import annotations

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.integrations.jobs import enqueue_delivery
from backend.integrations.models import DeliveryState, WebhookAttempt, WebhookDelivery
from backend.integrations.schemas import AttemptView, DeliveryView


def _view(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryView:
    last = attempts[-1] if attempts else None
    return DeliveryView(
        id=delivery.public_id, event_seq=delivery.event_seq, event_type=delivery.event_type,
        state=delivery.state, status_code=last.status_code if last else None,
        duration_ms=last.duration_ms if last else None,
        response_excerpt=last.response_excerpt if last else None,
        error=last.error if last else None, attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at, delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        attempts=[
            AttemptView(at=a.at, status_code=a.status_code, duration_ms=a.duration_ms,
                        response_excerpt=a.response_excerpt, error=a.error)
            for a in attempts
        ],
    )  # fmt: skip


async def _attempts(session: AsyncSession, ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        query = (
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(ids))
            .order_by(col(WebhookAttempt.id))
        )
        for attempt in (await session.execute(query)).scalars():
            found[attempt.delivery_id].append(attempt)
    return found


async def delivery_view(session: AsyncSession, delivery: WebhookDelivery) -> DeliveryView:
    assert delivery.id is not None
    return _view(delivery, (await _attempts(session, [delivery.id]))[delivery.id])


async def list_deliveries(
    session: AsyncSession, endpoint_id: int, *, state: str | None, limit: int, before: str | None
) -> list[DeliveryView]:
    query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    if state:
        query = query.where(col(WebhookDelivery.state) == state)
    if before:
        anchor = await _by_public_id(session, endpoint_id, before)
        query = query.where(col(WebhookDelivery.id) < anchor.id)
    rows = list(
        (
            await session.execute(query.order_by(col(WebhookDelivery.id).desc()).limit(limit))
        ).scalars()
    )
    attempts = await _attempts(session, [r.id for r in rows if r.id is not None])
    return [_view(r, attempts[r.id]) for r in rows if r.id is not None]


async def _by_public_id(session: AsyncSession, endpoint_id: int, public_id: str) -> WebhookDelivery:
    delivery = (
        await session.execute(
            select(WebhookDelivery).where(
                col(WebhookDelivery.endpoint_id) == endpoint_id,
                col(WebhookDelivery.public_id) == public_id,
            )
        )
    ).scalar_one_or_none()
    if delivery is None:
        raise ServiceError(404, "no such delivery for this endpoint")
    return delivery


async def reset_for_redelivery(
    session: AsyncSession, endpoint_id: int, public_id: str
) -> WebhookDelivery:
    delivery = await _by_public_id(session, endpoint_id, public_id)
    now = utcnow()
    delivery.state = DeliveryState.pending.value
    delivery.next_attempt_at = now
    delivery.retry_from = now
    delivery.lease_until = None
    delivery.updated_at = now
    await session.flush()
    return delivery


async def kick_pending(queue: ArqRedis, session: AsyncSession, endpoint_id: int) -> None:
    """A re-enabled endpoint: its waiting deliveries go now rather than at the next sweep."""
    rows = (
        await session.execute(
            select(col(WebhookDelivery.id), col(WebhookDelivery.attempts)).where(
                col(WebhookDelivery.endpoint_id) == endpoint_id,
                col(WebhookDelivery.state) == DeliveryState.pending.value,
            )
        )
    ).all()
    for delivery_id, attempts in rows:
        assert delivery_id is not None
        await enqueue_delivery(queue, delivery_id, f"{attempts}-enabled")
