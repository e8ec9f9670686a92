"""`GET /api/v1/audit` for admins: newest first, filtered, paged by `before_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import require_role
from backend.agents.models import Role
from backend.audit.services import entries, entry_json


@get("/api/v1/audit", tags=["audit"], guards=[require_role(Role.admin)])
async def list_audit(
    db_session: AsyncSession,
    action: str | None = Parameter(default=None, max_length=64, description="prefix, e.g. `auth.`"),
    actor_id: int | None = None,
    target_type: str | None = Parameter(default=None, max_length=32),
    target_id: str | None = Parameter(default=None, max_length=64),
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = Parameter(default=100, ge=1, le=500),
) -> dict[str, Any]:
    found = await entries(
        db_session, action=action, actor_id=actor_id, target_type=target_type,
        target_id=target_id, since=since, until=until, before_id=before_id, limit=limit,
    )  # fmt: skip
    return {"items": [entry_json(e) for e in found]}


AUDIT_HANDLERS: list[Any] = [list_audit]
