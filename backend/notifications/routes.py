"""The notification centre: the signed-in agent's own notifications, and marking them read."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.notifications import services
from backend.notifications.services import notification_json

AgentRequest = Request[CurrentAgent, Any, Any]


class NotificationController(Controller):
    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @get("/")
    async def list_notifications(
        self, request: AgentRequest, db_session: AsyncSession, unread: bool = False,
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> dict[str, Any]:  # fmt: skip
        """Newest first, with the unread count for the bell."""
        return await services.list_for(db_session, request.user.id, unread_only=unread, limit=limit)

    @post("/{notification_id:int}/read", status_code=HTTP_200_OK)
    async def read_one(
        self, request: AgentRequest, db_session: AsyncSession, notification_id: int
    ) -> dict[str, Any]:
        notification = await services.mark_read(db_session, request.user.id, notification_id)
        if notification is None:
            raise NotFoundException("no such notification")
        await db_session.commit()
        return notification_json(notification)

    @post("/read-all", status_code=HTTP_200_OK)
    async def read_all(self, request: AgentRequest, db_session: AsyncSession) -> dict[str, int]:
        marked = await services.mark_all_read(db_session, request.user.id)
        await db_session.commit()
        return {"marked": marked}
