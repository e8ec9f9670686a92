"""Sending one delivery: signed, to a checked address, no redirects, a bounded answer, 10 s.

A job first takes a lease on the delivery with a conditional UPDATE, so two workers (or a job and
its duplicate) never post it at once; a worker that dies mid-post leaves a lease that expires,
and the sweep sends the delivery again with the same id (receivers dedupe on
`Switchboard-Delivery`). Failures back off exponentially with jitter for the retry window (72 hours
by default), then the delivery is `failed`; an endpoint that has failed for a whole window with
no success is `disabled` and says why.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.config import Settings
from backend.core.logging import get_logger
from backend.integrations.addresses import UnsafeTarget, resolve_target
from backend.integrations.endpoints import secrets_of
from backend.integrations.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.integrations.signing import signature_header

log = get_logger(__name__)

TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=TIMEOUT_SECONDS + 10)  # the post is bounded to 10 s
EXCERPT_BYTES = 1024
RETRY_CAP_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    duration_ms: int
    excerpt: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(settings: Settings, attempts: int) -> float:
    """Exponential from OUTGOING_WEBHOOK_RETRY_BASE_SECONDS, capped, with equal jitter (half
    fixed, half random), so retries spread out without ever collapsing to zero."""
    ceiling = min(
        RETRY_CAP_SECONDS, settings.outgoing_webhook_retry_base_seconds * 2.0 ** (attempts - 1)
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography


def encoded(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def post_once(
    client: httpx.AsyncClient, settings: Settings, endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
) -> PostResult:  # fmt: skip
    body = encoded(delivery.body)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = await resolve_target(
            endpoint.url, settings.outgoing_webhooks_allow_private_networks
        )
    except UnsafeTarget as error:
        return PostResult(None, elapsed(), None, f"refused: {error}"[:255])
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "Switchboard-Webhooks/1",
        "Switchboard-Event": delivery.event_type,
        "Switchboard-Delivery": delivery.public_id,
        "Switchboard-Signature": signature_header(secrets_of(endpoint), int(time.time()), body),
    }
    request = client.build_request(
        "POST", target.url, content=body, headers=headers,
        extensions={"sni_hostname": target.host, "timeout": httpx.Timeout(TIMEOUT_SECONDS).as_dict()},
    )  # fmt: skip
    excerpt = bytearray()
    try:
        # One bound for the whole exchange: a receiver that drips bytes cannot hold a worker.
        async with asyncio.timeout(TIMEOUT_SECONDS):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return PostResult(None, elapsed(), None, "no answer within 10 s")
    except httpx.HTTPError as error:
        return PostResult(None, elapsed(), None, f"{type(error).__name__}: {error}"[:255])
    text = bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", "replace")
    return PostResult(response.status_code, elapsed(), text, None)


async def take_lease(session: AsyncSession, delivery_id: int, now: datetime) -> bool:
    taken = await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.state) == DeliveryState.pending.value,
            or_(col(WebhookDelivery.next_attempt_at).is_(None), col(WebhookDelivery.next_attempt_at) <= now),
            or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now),
        )
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _disable(endpoint: WebhookEndpoint, result: PostResult, window: timedelta) -> None:
    endpoint.state = EndpointState.disabled.value
    endpoint.disabled_reason = (
        f"every delivery failed for {window}: last {result.status_code or result.error}"
    )[:255]
    log.warning("webhook endpoint disabled", endpoint_id=endpoint.id, url=endpoint.url)


def record_outcome(
    settings: Settings, endpoint: WebhookEndpoint, delivery: WebhookDelivery, result: PostResult,
    now: datetime, first_attempt_at: datetime,
) -> float | None:  # fmt: skip
    """Applies one attempt's result; returns the delay before the next attempt, if any.

    The endpoint is disabled once it has failed for a whole retry window: when it has had no
    success for that long, or when a delivery used up its window while the endpoint never
    succeeded since that delivery's first attempt (a quiet endpoint with one event)."""
    window = timedelta(seconds=settings.outgoing_webhook_retry_window_seconds)
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.lease_until = None
    delivery.updated_at = now
    if result.delivered and result.error is None:
        delivery.state = DeliveryState.delivered.value
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return None
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    active = endpoint.state == EndpointState.active.value
    if active and now - endpoint.failing_since >= window:
        _disable(endpoint, result, window)
        active = False
    delay = retry_delay(settings, delivery.attempts)
    if now + timedelta(seconds=delay) > delivery.retry_from + window:
        delivery.state = DeliveryState.failed.value
        delivery.next_attempt_at = None
        if active and endpoint.failing_since <= first_attempt_at:
            _disable(endpoint, result, window)
        return None
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return delay


def attempt_row(delivery_id: int, result: PostResult, now: datetime) -> WebhookAttempt:
    return WebhookAttempt(
        delivery_id=delivery_id, at=now, status_code=result.status_code,
        duration_ms=result.duration_ms, response_excerpt=result.excerpt, error=result.error,
    )  # fmt: skip
