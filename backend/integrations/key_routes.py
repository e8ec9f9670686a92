"""API key management: admins only (keys cannot make keys)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.core.context import context_of
from backend.integrations import keys
from backend.integrations.models import ApiKey
from backend.integrations.schemas import (
    KEY_EXAMPLE,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyView,
    ScopeList,
)
from backend.realtime.events import commit_and_publish


def key_view(key: ApiKey) -> ApiKeyView:
    assert key.id is not None
    return ApiKeyView(
        id=key.id, name=key.name, scopes=list(key.scopes), prefix=key.prefix,
        rate_per_minute=key.rate_per_minute, created_at=key.created_at,
        last_used_at=key.last_used_at, revoked_at=key.revoked_at,
    )  # fmt: skip


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api keys"]
    guards = [require_role(Role.admin)]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
        data: Annotated[ApiKeyCreate, KEY_EXAMPLE],
    ) -> ApiKeyCreated:  # fmt: skip
        """Makes a key; the answer is the only time the key itself is shown."""
        settings = context_of(request).settings
        key, raw = await keys.create_key(
            db_session, name=data.name, scopes=data.scopes,
            rate_per_minute=data.rate_per_minute or settings.api_key_rate_per_minute,
            created_by=request.user.id, by=request.user,
        )  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return ApiKeyCreated(**key_view(key).model_dump(), key=raw)

    @get("/scopes")
    async def list_scopes(self) -> ScopeList:
        """The scopes a key may hold (for the admin console's form)."""
        return ScopeList(items=list(keys.SCOPES))

    @get("/")
    async def list_keys(
        self, db_session: AsyncSession, include_revoked: bool = False
    ) -> ApiKeyList:
        return ApiKeyList(
            items=[
                key_view(k)
                for k in await keys.list_keys(db_session, include_revoked=include_revoked)
            ]
        )

    @delete("/{key_id:int}", status_code=200)
    async def revoke(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, key_id: int
    ) -> ApiKeyView:
        """Revokes at once: the next request with this key is a 401."""
        key = await keys.revoke_key(db_session, key_id, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)
        return key_view(key)
