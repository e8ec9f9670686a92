"""Channels: the default one from WHATSAPP_* at start-up, the rest through the admin API."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Team
from backend.channels.base import RejectedItem
from backend.channels.models import Channel, ProviderKind, WebhookReject
from backend.config import Settings
from backend.db.types import utcnow


async def ensure_default_channel(session: AsyncSession, settings: Settings) -> Channel:
    """Create or update the default channel so that it matches the environment."""
    channel = (
        await session.execute(select(Channel).where(Channel.is_default.is_(True)))  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if channel is None:
        channel = (
            await session.execute(
                select(Channel).where(
                    col(Channel.phone_number_id) == settings.whatsapp_phone_number_id
                )
            )
        ).scalar_one_or_none()
    if channel is None:
        channel = Channel(name="WhatsApp", phone_number_id=settings.whatsapp_phone_number_id,
                          access_token="", is_default=True)  # fmt: skip
        session.add(channel)
    channel.provider = ProviderKind.cloud_api.value
    channel.phone_number_id = settings.whatsapp_phone_number_id
    channel.access_token = settings.whatsapp_access_token
    channel.app_secret = settings.whatsapp_app_secret
    channel.verify_token = settings.whatsapp_verify_token
    channel.api_base_url = settings.whatsapp_api_base_url
    channel.business_account_id = settings.default_business_account_id
    channel.rate_per_second = settings.send_rate_per_second
    channel.is_default = True
    channel.updated_at = utcnow()
    if channel.default_team_id is None:
        # Every desk needs at least one queue for new conversations to wait in.
        general = (
            await session.execute(select(Team).where(col(Team.name) == "General"))
        ).scalar_one_or_none()
        if general is None:
            general = Team(name="General")
            session.add(general)
            await session.flush()
        channel.default_team_id = general.id
    await session.flush()
    return channel


async def channel_by_phone_number_id(session: AsyncSession, phone_number_id: str) -> Channel | None:
    result = await session.execute(
        select(Channel).where(col(Channel.phone_number_id) == phone_number_id)
    )
    return result.scalar_one_or_none()


async def keep_rejects(
    session: AsyncSession, provider: str, items: list[RejectedItem],
    channels: dict[str, Channel], signer: Channel | None,
) -> None:  # fmt: skip
    """Stores, in the caller's transaction, the parts of a webhook that could not be filed.

    A part without a phone number id is kept under the channel whose secret signed the body.
    """
    for item in items:
        channel = channels.get(item.phone_number_id or "") or signer
        session.add(WebhookReject(
            channel_id=channel.id if channel else None, provider=provider, kind=item.kind,
            reason=item.reason[:512], raw=item.raw,
        ))  # fmt: skip


async def channels_of_business_account(session: AsyncSession, waba_id: str) -> list[Channel]:
    """Cloud API channels of one WhatsApp Business Account (several numbers may share one)."""
    result = await session.execute(
        select(Channel).where(
            col(Channel.business_account_id) == waba_id,
            col(Channel.provider) == ProviderKind.cloud_api.value,
        )
    )
    return list(result.scalars())
