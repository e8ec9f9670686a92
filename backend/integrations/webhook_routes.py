"""Webhook endpoint management, for admins and keys with `webhooks:manage`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import context_of
from backend.integrations import deliveries, endpoints
from backend.integrations.jobs import redeliver
from backend.integrations.key_auth import API_SCOPE, admin_or_key
from backend.integrations.models import Scope, WebhookEndpoint
from backend.integrations.schemas import (
    ENDPOINT_EXAMPLE,
    DeliveryList,
    DeliveryView,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointUpdate,
    EndpointView,
    SecretRotated,
)
from backend.realtime.events import commit_and_publish

AnyRequest = Request[Any, Any, Any]


def endpoint_view(endpoint: WebhookEndpoint) -> EndpointView:
    assert endpoint.id is not None
    return EndpointView(
        id=endpoint.id, url=endpoint.url, events=list(endpoint.events),
        description=endpoint.description, state=endpoint.state,
        disabled_reason=endpoint.disabled_reason, failing_since=endpoint.failing_since,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at, updated_at=endpoint.updated_at,
    )  # fmt: skip


class WebhookEndpointController(Controller):
    path = "/api/v1/webhook-endpoints"
    tags = ["webhooks"]
    guards = [admin_or_key]
    opt = {API_SCOPE: Scope.webhooks_manage.value}

    def _allow_private(self, request: AnyRequest) -> bool:
        return context_of(request).settings.outgoing_webhooks_allow_private_networks

    async def _committed(self, request: AnyRequest, db_session: AsyncSession) -> None:
        await commit_and_publish(db_session, context_of(request).redis)
        await endpoints.refresh_active_flag(db_session, context_of(request).redis)

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: AnyRequest,
        db_session: AsyncSession,
        data: Annotated[EndpointCreate, ENDPOINT_EXAMPLE],
    ) -> EndpointCreated:
        """Every matching event from now on is POSTed to `url`, signed with the secret."""
        endpoint, secret = await endpoints.create_endpoint(
            db_session, url=data.url, events=data.events, description=data.description,
            allow_private=self._allow_private(request), by=request.user,
        )  # fmt: skip
        await self._committed(request, db_session)
        return EndpointCreated(**endpoint_view(endpoint).model_dump(), secret=secret)

    @get("/")
    async def list_endpoints(self, db_session: AsyncSession) -> EndpointList:
        return EndpointList(
            items=[endpoint_view(e) for e in await endpoints.list_endpoints(db_session)]
        )

    @get("/{endpoint_id:int}")
    async def get_endpoint(self, db_session: AsyncSession, endpoint_id: int) -> EndpointView:
        return endpoint_view(await endpoints.get_endpoint(db_session, endpoint_id))

    @patch("/{endpoint_id:int}")
    async def update(
        self, request: AnyRequest, db_session: AsyncSession, endpoint_id: int, data: EndpointUpdate
    ) -> EndpointView:
        """`state: "active"` re-enables an endpoint that was disabled after failing."""
        endpoint = await endpoints.update_endpoint(
            db_session, await endpoints.get_endpoint(db_session, endpoint_id), url=data.url,
            events=data.events, description=data.description, state=data.state,
            allow_private=self._allow_private(request), by=request.user,
        )  # fmt: skip
        await self._committed(request, db_session)
        if data.state == "active":
            await deliveries.kick_pending(context_of(request).queue, db_session, endpoint_id)
        return endpoint_view(endpoint)

    @delete("/{endpoint_id:int}", status_code=HTTP_200_OK)
    async def remove(
        self, request: AnyRequest, db_session: AsyncSession, endpoint_id: int
    ) -> EndpointView:
        """Deletes the endpoint and its deliveries; nothing more is sent to it."""
        endpoint = await endpoints.get_endpoint(db_session, endpoint_id)
        view = endpoint_view(endpoint)
        await endpoints.delete_endpoint(db_session, endpoint, by=request.user)
        await self._committed(request, db_session)
        return view

    @post("/{endpoint_id:int}/rotate-secret", status_code=HTTP_200_OK)
    async def rotate(
        self, request: AnyRequest, db_session: AsyncSession, endpoint_id: int
    ) -> SecretRotated:
        """A new secret; the old one keeps signing beside it for 24 hours."""
        endpoint = await endpoints.get_endpoint(db_session, endpoint_id)
        secret = await endpoints.rotate_secret(db_session, endpoint, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)
        assert endpoint.id is not None and endpoint.previous_secret_expires_at is not None
        return SecretRotated(
            id=endpoint.id, secret=secret,
            previous_secret_expires_at=endpoint.previous_secret_expires_at,
        )  # fmt: skip

    @get("/{endpoint_id:int}/deliveries")
    async def list_deliveries(
        self, db_session: AsyncSession, endpoint_id: int,
        only: str | None = Parameter(query="state", default=None, description="pending, delivered or failed"),
        limit: int = Parameter(default=50, ge=1, le=500), before: str | None = None,
    ) -> DeliveryList:  # fmt: skip
        """Newest first, each with its attempts; `before` (a delivery id) pages back."""
        await endpoints.get_endpoint(db_session, endpoint_id)
        return DeliveryList(
            items=await deliveries.list_deliveries(
                db_session, endpoint_id, state=only, limit=limit, before=before
            )
        )

    @post(
        "/{endpoint_id:int}/deliveries/{delivery_id:str}/redeliver", status_code=HTTP_202_ACCEPTED
    )
    async def redeliver(
        self, request: AnyRequest, db_session: AsyncSession, endpoint_id: int, delivery_id: str
    ) -> DeliveryView:
        """Sends the delivery again now (same id, same body), retrying anew if it fails."""
        delivery = await deliveries.reset_for_redelivery(db_session, endpoint_id, delivery_id)
        await db_session.commit()
        assert delivery.id is not None
        await redeliver(context_of(request).queue, delivery.id)
        return await deliveries.delivery_view(db_session, delivery)
