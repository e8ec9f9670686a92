"""Channels: the default one from WHATSAPP_* at start-up, the rest through the admin API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Team
from backend.agents.services import active_member_counts
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
    # Like every WHATSAPP_* variable, WHATSAPP_DEFAULT_TEAM wins at start-up: it is the queue
    # that `create-agent` without `--team` joins, so the two can never disagree.
    channel.default_team_id = (await default_team(session, settings)).id
    await session.flush()
    return channel


async def default_team(session: AsyncSession, settings: Settings) -> Team:
    """The team named by WHATSAPP_DEFAULT_TEAM, created when missing (a desk needs a queue)."""
    name = settings.whatsapp_default_team
    team = (await session.execute(select(Team).where(col(Team.name) == name))).scalar_one_or_none()
    if team is None:
        team = Team(name=name)
        session.add(team)
        await session.flush()
    return team


async def desk_warnings(session: AsyncSession) -> list[str]:
    """What would make customers wait for nobody: a channel whose default team has no active
    agent. Logged at start-up and shown in the admin console."""
    members = await active_member_counts(session)
    rows = await session.execute(
        select(Channel, Team).join(Team, col(Team.id) == col(Channel.default_team_id))
        .order_by(col(Channel.id))
    )  # fmt: skip
    return [
        f"channel {channel.name}: its team {team.name} has no active agent, so new chats wait "
        f"for nobody (add one with `switchboard create-agent --team {team.name}` or in Admin)"
        for channel, team in rows.tuples()
        if not members.get(team.id or 0)
    ]


def app_secrets(channel: Channel, now: datetime | None = None) -> list[str]:
    """The secrets that verify this channel's webhooks now: the current one, and the previous
    one until its overlap ends (Meta keeps signing with the old secret for a while)."""
    found = [channel.app_secret] if channel.app_secret else []
    until = channel.previous_app_secret_until
    if channel.previous_app_secret and until is not None and (now or utcnow()) < until:
        found.append(channel.previous_app_secret)
    return found


def rotate_app_secret(channel: Channel, new: str, overlap: timedelta) -> None:
    """The new secret signs from now on; the old one keeps verifying for `overlap`."""
    if new != channel.app_secret:
        channel.previous_app_secret = channel.app_secret or None
        channel.previous_app_secret_until = utcnow() + overlap
        channel.app_secret = new
    channel.updated_at = utcnow()


def retire_previous_app_secret(channel: Channel) -> None:
    channel.previous_app_secret, channel.previous_app_secret_until = None, None
    channel.updated_at = utcnow()


def graph_base_url(channel: Channel, settings: Settings) -> str:
    """Where a Cloud API channel's Graph calls go: its own base URL, else the configured one."""
    return channel.api_base_url or settings.graph_api_base_url


def is_sandbox_channel(channel: Channel, settings: Settings) -> bool:
    """A channel the built-in sandbox may speak for: a Cloud API channel whose Graph calls go to
    this server's sandbox. Any other channel's customers are real people, and the sandbox (which
    signs webhooks with the channel's app secret) must never forge their messages."""
    if channel.provider != ProviderKind.cloud_api.value:
        return False
    base, own = urlsplit(graph_base_url(channel, settings)), urlsplit(settings.public_base_url)
    return base.netloc == own.netloc and base.path.startswith("/sandbox/graph")


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


CONNECTION_FIELDS = (
    "id,display_phone_number,verified_name,status,quality_rating,messaging_limit_tier"
)


async def test_connection(channel: Channel, settings: Settings) -> dict[str, Any]:
    """Asks the Graph API about the channel's number with its token (`GET /{phone_number_id}`):
    `{"ok": true, "display_phone_number", "verified_name", "quality_rating",
    "messaging_limit_tier", "status"}`, or `{"ok": false, "error": {"code", "message"}}` with
    Meta's error (a wrong token is code 190). Ultramsg channels are not asked: there is no such
    call, so they answer `ok: null`."""
    if channel.provider != ProviderKind.cloud_api.value:
        return {
            "ok": None,
            "error": {"code": None, "message": "only Cloud API channels can be tested"},
        }
    url = f"{graph_base_url(channel, settings)}/{channel.phone_number_id}"
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
            response = await http.get(
                url, params={"fields": CONNECTION_FIELDS},
                headers={"Authorization": f"Bearer {channel.access_token}"},
            )  # fmt: skip
    except httpx.HTTPError as failure:
        return {
            "ok": False,
            "error": {"code": None, "message": f"could not reach {url}: {type(failure).__name__}"},
        }
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
        given = body.get("error") if isinstance(body, dict) else None
        meta: dict[str, Any] = (
            given if isinstance(given, dict)
            else {"message": f"the Graph API answered {response.status_code}"}
        )  # fmt: skip
        return {"ok": False, "status_code": response.status_code,
                "error": {"code": meta.get("code"), "message": str(meta.get("message", ""))}}  # fmt: skip
    keys = (
        "display_phone_number",
        "verified_name",
        "quality_rating",
        "messaging_limit_tier",
        "status",
    )
    return {"ok": True, **{key: body.get(key) for key in keys}}


async def try_access_token(
    session: AsyncSession, channel: Channel, token: str, settings: Settings
) -> dict[str, Any]:
    """Tests `token` for the channel's number and, unless the Graph API refuses it, sets it on
    the channel (the caller commits). No transaction stays open during the outside call: the
    Graph API may be this very process's sandbox, and SQLite has one writer."""
    candidate = Channel.model_validate(channel.model_dump())
    candidate.access_token = token
    channel_id = channel.id
    await session.rollback()  # nothing of the caller's is pending: it has only read the channel
    result = await test_connection(candidate, settings)
    if result["ok"] is not False:
        current = await session.get(Channel, channel_id)
        assert current is not None
        current.access_token, current.updated_at = token, utcnow()
    return result
