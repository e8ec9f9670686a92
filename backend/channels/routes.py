"""Channels through the admin API, and the Ultramsg webhook (which Ultramsg cannot sign)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import require_role
from backend.agents.models import Role, Team
from backend.audit.changes import config_changed
from backend.channels.base import WebhookError
from backend.channels.models import Channel, ProviderKind
from backend.channels.services import (
    retire_previous_app_secret,
    test_connection,
    try_access_token,
)
from backend.channels.services import rotate_app_secret as rotate
from backend.channels.ultramsg.webhook import parse_webhook as parse_ultramsg
from backend.channels.whatsapp.routes import MAX_WEBHOOK_BYTES
from backend.conversations.ingest import ingest_batch
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish


class ChannelBody(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    provider: ProviderKind = ProviderKind.cloud_api
    phone_number_id: str = Field(
        min_length=1,
        max_length=64,
        description="Cloud API phone number id, or the Ultramsg instance id",
    )
    access_token: str = Field(min_length=1, max_length=512)
    app_secret: str = Field(default="", max_length=255)
    verify_token: str = Field(default="", max_length=255)
    api_base_url: str | None = Field(default=None, max_length=255, pattern=r"^https?://")
    business_account_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="WhatsApp Business Account id, where the channel's templates live",
    )  # fmt: skip
    default_team: str | None = None
    rate_per_second: int = Field(default=80, ge=1, le=1000)
    typing_indicator: bool = True


class ChannelPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    access_token: str | None = Field(default=None, min_length=1, max_length=512)
    app_secret: str | None = Field(default=None, max_length=255)
    verify_token: str | None = Field(default=None, max_length=255)
    api_base_url: str | None = Field(default=None, max_length=255, pattern=r"^https?://")
    business_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    default_team: str | None = None
    rate_per_second: int | None = Field(default=None, ge=1, le=1000)
    typing_indicator: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: Any) -> Any:
        """Omitting a field keeps it; `null` would clear a value every channel needs (a 500 from
        the NOT NULL column before), so it is refused by name. Only the optional ones clear."""
        if isinstance(data, dict):
            cleared = [key for key in _REQUIRED_ON_CHANNEL if key in data and data[key] is None]
            if cleared:
                raise ValueError(f"{', '.join(cleared)} cannot be null: omit it to keep the value")
        return data


_REQUIRED_ON_CHANNEL = (
    "name", "access_token", "app_secret", "verify_token", "rate_per_second", "typing_indicator",
)  # fmt: skip


class AccessTokenReplacement(BaseModel):
    access_token: str = Field(min_length=1, max_length=1024)


class AppSecretRotation(BaseModel):
    app_secret: str = Field(min_length=1, max_length=255)
    overlap_hours: float = Field(
        default=72, ge=0, le=24 * 30,
        description="how long the old secret still verifies webhooks",
    )  # fmt: skip


def channel_view(channel: Channel, base_url: str) -> dict[str, Any]:
    """Never the secrets: only whether they are set, and where to point the provider's webhook."""
    webhook = (
        f"{base_url}/webhooks/ultramsg/{channel.id}?token={channel.webhook_token}"
        if channel.provider == ProviderKind.ultramsg.value
        else f"{base_url}/webhooks/whatsapp"
    )
    return {
        "id": channel.id, "name": channel.name, "provider": channel.provider,
        "phone_number_id": channel.phone_number_id, "api_base_url": channel.api_base_url,
        "business_account_id": channel.business_account_id,
        "default_team_id": channel.default_team_id, "is_default": channel.is_default,
        "rate_per_second": channel.rate_per_second, "typing_indicator": channel.typing_indicator,
        "has_access_token": bool(channel.access_token),
        "has_app_secret": bool(channel.app_secret), "webhook_url": webhook,
        "previous_app_secret_until": channel.previous_app_secret_until.isoformat()
        if channel.previous_app_secret and channel.previous_app_secret_until else None,
        "verify_token": channel.verify_token,
    }  # fmt: skip


async def _team_id(session: AsyncSession, name: str | None) -> int | None:
    if name is None:
        return None
    team = (await session.execute(select(Team).where(col(Team.name) == name))).scalar_one_or_none()
    if team is None:
        raise ClientException(f"no team named {name}", status_code=422)
    return team.id


async def _changed(
    session: AsyncSession, request: Request[Any, Any, Any], action: str, channel: Channel,
    **change: Any,
) -> None:  # fmt: skip
    """Audited with the views before and after (which hold no secret); announced to leads and
    admins with the channel's name only (the page re-reads the list, verify token and all)."""
    await config_changed(session, action, by=request.user, target_id=channel.id, data={
        "channel": {"id": channel.id, "name": channel.name, "provider": channel.provider},
    }, **change)  # fmt: skip


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ["channels"]
    guards = [require_role(Role.admin, Role.lead)]

    @get("/")
    async def list_channels(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> dict[str, list[dict[str, Any]]]:
        channels = (await db_session.execute(select(Channel).order_by(col(Channel.id)))).scalars()
        base = context_of(request).settings.public_base_url
        return {"items": [channel_view(c, base) for c in channels]}

    @post("/", guards=[require_role(Role.admin)], status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: ChannelBody
    ) -> dict[str, Any]:
        if data.provider == ProviderKind.cloud_api and not data.app_secret:
            raise ClientException(
                "a Cloud API channel needs its app_secret to verify webhooks", status_code=422
            )
        channel = Channel(
            name=data.name, provider=data.provider.value, phone_number_id=data.phone_number_id,
            access_token=data.access_token, app_secret=data.app_secret,
            # Generated unless given: the admin pastes it into Meta's webhook settings.
            verify_token=data.verify_token or (
                secrets.token_urlsafe(24) if data.provider == ProviderKind.cloud_api else ""
            ),
            api_base_url=data.api_base_url, rate_per_second=data.rate_per_second,
            typing_indicator=data.typing_indicator,
            business_account_id=data.business_account_id,
            default_team_id=await _team_id(db_session, data.default_team),
            webhook_token=secrets.token_urlsafe(24) if data.provider == ProviderKind.ultramsg else None,
        )  # fmt: skip
        db_session.add(channel)
        base = context_of(request).settings.public_base_url
        try:
            await db_session.flush()
            await _changed(db_session, request, "channel.created", channel,
                           after=channel_view(channel, base))  # fmt: skip
            await commit_and_publish(db_session, context_of(request).redis)
        except IntegrityError:
            raise ClientException(
                f"a channel with {data.phone_number_id} exists already", status_code=409
            ) from None
        return channel_view(channel, context_of(request).settings.public_base_url)

    @patch("/{channel_id:int}", guards=[require_role(Role.admin)])
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        channel_id: int,
        data: ChannelPatch,
    ) -> dict[str, Any]:
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        changes = data.model_dump(exclude_unset=True)
        base = context_of(request).settings.public_base_url
        before = channel_view(channel, base)
        if "default_team" in changes:
            channel.default_team_id = await _team_id(db_session, changes.pop("default_team"))
        for key, value in changes.items():
            setattr(channel, key, value)
        channel.updated_at = utcnow()
        await _changed(
            db_session, request, "channel.updated", channel, before=before,
            after=channel_view(channel, base),
            detail="changed: " + ", ".join(sorted(changes)) if changes else None,
        )  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return channel_view(channel, context_of(request).settings.public_base_url)

    @post("/{channel_id:int}/test", status_code=HTTP_200_OK)
    async def test(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int
    ) -> dict[str, Any]:
        """Test connection: the Graph API's view of the number (display name, quality rating,
        messaging limit tier), or its error."""
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        # No transaction stays open during the outside call (SQLite has one connection per
        # process, and the sandbox answering it is this very process).
        db_session.expunge(channel)
        await db_session.close()
        return await test_connection(channel, context_of(request).settings)

    @post("/{channel_id:int}/access-token", guards=[require_role(Role.admin)], status_code=200)
    async def replace_access_token(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int,
        data: AccessTokenReplacement,
    ) -> dict[str, Any]:  # fmt: skip
        """Replaces the access token and tests it in one step: a Cloud API token is kept only if
        the Graph API accepts it for this number (the old one stays otherwise, and Meta's error
        is the 422's reason); an Ultramsg token, which cannot be tested, is kept as given."""
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        settings = context_of(request).settings
        result = await try_access_token(db_session, channel, data.access_token, settings)
        if result["ok"] is False:
            raise ClientException(
                f"the new access token was refused, the old one is kept: {result['error']['message']}",
                status_code=422,
                extra={"connection": result},
            )
        replaced = await db_session.get(Channel, channel_id)  # read again after the outside call
        assert replaced is not None
        await _changed(db_session, request, "channel.access_token_replaced", replaced,
                       detail="tested" if result["ok"] else "not testable (Ultramsg)")  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return {"channel": channel_view(replaced, settings.public_base_url), "connection": result}

    @post("/{channel_id:int}/verify-token", guards=[require_role(Role.admin)], status_code=200)
    async def new_verify_token(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int
    ) -> dict[str, Any]:
        """A fresh verify token for Meta's webhook handshake (paste it there next)."""
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        channel.verify_token, channel.updated_at = secrets.token_urlsafe(24), utcnow()
        await _changed(db_session, request, "channel.verify_token_replaced", channel)
        await commit_and_publish(db_session, context_of(request).redis)
        return channel_view(channel, context_of(request).settings.public_base_url)

    @post("/{channel_id:int}/app-secret", guards=[require_role(Role.admin)], status_code=200)
    async def rotate_app_secret(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int,
        data: AppSecretRotation,
    ) -> dict[str, Any]:  # fmt: skip
        """A new app secret with an overlap: webhooks signed with either verify until the old
        one is retired (at `overlap_hours`, or by `DELETE …/app-secret/previous`)."""
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        rotate(channel, data.app_secret, timedelta(hours=data.overlap_hours))
        await _changed(db_session, request, "channel.app_secret_rotated", channel,
                       detail=f"overlap {data.overlap_hours} h")  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return channel_view(channel, context_of(request).settings.public_base_url)

    @delete(
        "/{channel_id:int}/app-secret/previous", guards=[require_role(Role.admin)],
        status_code=200,
    )  # fmt: skip
    async def retire_previous(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int
    ) -> dict[str, Any]:
        channel = await db_session.get(Channel, channel_id)
        if channel is None:
            raise NotFoundException("no such channel")
        retire_previous_app_secret(channel)
        await _changed(db_session, request, "channel.app_secret_retired", channel)
        await commit_and_publish(db_session, context_of(request).redis)
        return channel_view(channel, context_of(request).settings.public_base_url)


@post(
    "/webhooks/ultramsg/{channel_id:int}", status_code=HTTP_200_OK, tags=["webhooks"],
    exclude_from_auth=True, exclude_from_csrf=True, request_max_body_size=MAX_WEBHOOK_BYTES,
)  # fmt: skip
async def receive_ultramsg(
    request: Request[Any, Any, Any], db_session: AsyncSession, channel_id: int
) -> Response[dict[str, Any]]:
    """Authenticated by the channel's webhook token (`?token=` or `X-Webhook-Token`)."""
    channel = await db_session.get(Channel, channel_id)
    given = request.query_params.get("token") or request.headers.get("x-webhook-token") or ""
    if (
        channel is None
        or channel.provider != ProviderKind.ultramsg.value
        or not channel.webhook_token
        or not hmac.compare_digest(given.encode(), channel.webhook_token.encode())
    ):
        raise NotAuthorizedException("unknown channel or wrong webhook token")
    try:
        batch = parse_ultramsg(await request.body(), channel.phone_number_id)
    except WebhookError as error:
        raise ClientException(f"not an Ultramsg webhook: {error}") from None
    result = await ingest_batch(db_session, {channel.phone_number_id: channel}, batch)
    await commit_and_publish(db_session, context_of(request).redis)
    return Response({"status": "ok", "messages": len(result.stored), "duplicates": result.duplicates,
                     "statuses": result.statuses_applied + result.statuses_pending})  # fmt: skip
