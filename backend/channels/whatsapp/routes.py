"""The Cloud API webhook: verify the signature over the raw bytes, store the batch, then 200.

Meta retries anything but a 2xx, so the answer says exactly one thing: 200 means every message
and status of the body is committed; 503 means storage is down and Meta should try again.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.channels.base import WebhookBatch, WebhookError
from backend.channels.models import Channel, ProviderKind
from backend.channels.services import keep_rejects
from backend.channels.whatsapp.known_channels import known_channels_of
from backend.channels.whatsapp.webhook import parse_webhook
from backend.conversations.ingest import IngestResult, ingest_batches
from backend.core.context import context_of
from backend.core.logging import get_logger
from backend.db.group_commit import group_commit_of
from backend.metrics.counters import GROUP_ITEMS, INBOUND_MESSAGES, UNREADABLE_ITEMS
from backend.templates.webhooks import apply_template_changes

log = get_logger(__name__)

MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
PROVIDER = "whatsapp"


@get("/webhooks/whatsapp", media_type="text/plain", tags=["webhooks"], exclude_from_auth=True)
async def verify_subscription(
    db_session: AsyncSession,
    mode: str = Parameter(query="hub.mode", default=""),
    verify_token: str = Parameter(query="hub.verify_token", default=""),
    challenge: str = Parameter(query="hub.challenge", default=""),
) -> str:
    """Meta's handshake when the webhook URL is configured in the app dashboard."""
    if mode != "subscribe" or not verify_token:
        raise PermissionDeniedException("not a subscription request")
    # Verify tokens are encrypted at rest, so they are compared here, not in SQL.
    found = any(
        channel.verify_token
        and hmac.compare_digest(channel.verify_token.encode(), verify_token.encode())
        for channel in await _cloud_channels(db_session)
    )
    if not found:
        raise PermissionDeniedException("verify token does not match any channel")
    return challenge


async def _cloud_channels(session: AsyncSession) -> list[Channel]:
    query = select(Channel).where(col(Channel.provider) == ProviderKind.cloud_api.value)
    return list((await session.execute(query)).scalars())


def _count_unreadable(batch: WebhookBatch) -> None:
    """Counted, and logged with the reason: an operator should hear of what could not be read."""
    for message in batch.messages:
        if message.unreadable is not None:
            UNREADABLE_ITEMS.labels(PROVIDER, "message").inc()
            log.warning("unreadable message kept as unsupported", reason=message.unreadable,
                        provider_message_id=message.provider_message_id)  # fmt: skip
    for item in batch.rejected:
        UNREADABLE_ITEMS.labels(PROVIDER, item.kind).inc()
        log.warning("webhook part kept in webhook_rejects", kind=item.kind, reason=item.reason)
    for kind in batch.group_items:
        GROUP_ITEMS.labels(PROVIDER, kind).inc()


@dataclass(frozen=True)
class _Signed:
    """A verified webhook's batch and the channels it may write to (as kept by known_channels)."""

    channels: dict[str, Channel]
    signers: list[Channel]
    batch: WebhookBatch


async def _store_together(session: AsyncSession, items: list[_Signed]) -> list[IngestResult]:
    """A commit group's webhooks in one set-based ingest, then what each carried besides."""

    async def mine(channels: list[Channel]) -> list[Channel]:
        # Into the group's own session, as they were kept (no query).
        return [await session.merge(c, load=False) for c in channels]

    batches = [
        ({n: c for n, c in zip(i.channels, await mine(list(i.channels.values())), strict=True)},
         i.batch)
        for i in items
    ]  # fmt: skip
    results = await ingest_batches(session, batches)
    for item, (channels, _) in zip(items, batches, strict=True):
        signed = await mine(item.signers)
        await keep_rejects(session, PROVIDER, item.batch.rejected, channels,
                           signed[0] if len(signed) == 1 else None)  # fmt: skip
        if item.batch.template_changes:
            await apply_template_changes(session, signed, item.batch.template_changes)
    return results


@post(
    "/webhooks/whatsapp", status_code=HTTP_200_OK, tags=["webhooks"], exclude_from_auth=True,
    exclude_from_csrf=True, request_max_body_size=MAX_WEBHOOK_BYTES,
    opt={"own_body_checks": True},  # read item by item: one odd message never costs the batch
)  # fmt: skip
async def receive_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    header = request.headers.get("x-hub-signature-256")
    if not header:
        raise NotAuthorizedException("missing X-Hub-Signature-256")
    raw = await request.body()
    # Reject before parsing, and before any database work: the body must carry a valid HMAC
    # under one of our app secrets (the channels are kept in the process: known_channels).
    known = await known_channels_of(context_of(request)).verify(raw, header)
    if not known.signers:
        raise NotAuthorizedException("X-Hub-Signature-256 does not match")
    try:
        batch = parse_webhook(raw)
    except WebhookError as error:
        raise ClientException(f"not a WhatsApp webhook: {error}") from None
    signers, signed_by = known.signers, {channel.id for channel in known.signers}
    for number in batch.phone_number_ids:
        channel = known.by_number.get(number)
        if channel is None or channel.id not in signed_by:
            raise NotAuthorizedException(
                f"no channel with phone_number_id {number} is signed by this secret"
            )
    named = {number: known.by_number[number] for number in batch.phone_number_ids}
    # Stored with the webhooks arriving meanwhile: one set-based write, one commit (group_commit).
    result: IngestResult = await group_commit_of(context_of(request)).run_combined(
        _store_together, _Signed(named, signers, batch)
    )
    INBOUND_MESSAGES.inc(len(result.stored))
    _count_unreadable(batch)
    # Customer messages are worth a line; a batch of delivery receipts alone is routine.
    (log.info if result.stored or batch.unreadable else log.debug)(
        "webhook stored", messages=len(result.stored), duplicates=result.duplicates,
        statuses=result.statuses_applied, pending_statuses=result.statuses_pending,
        unreadable=batch.unreadable, contacts_synced=result.contacts_synced,
        group_items=len(batch.group_items),
    )  # fmt: skip
    return Response({
        "status": "ok", "messages": len(result.stored), "duplicates": result.duplicates,
        "statuses": result.statuses_applied + result.statuses_pending,
    })  # fmt: skip
