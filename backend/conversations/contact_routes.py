"""The customer's profile and the label vocabulary: thin routes over `contacts` and `labels`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.conversations import contacts, labels
from backend.conversations.visibility import get_visible_contact
from backend.core.context import context_of
from backend.integrations.key_auth import API_SCOPE, reader_of
from backend.integrations.models import Scope
from backend.realtime.events import commit_and_publish

AgentRequest = Request[CurrentAgent, Any, Any]


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]

    @get("/{contact_id:int}", opt={API_SCOPE: Scope.contacts_read.value})
    async def get_contact(
        self, request: AgentRequest, db_session: AsyncSession, contact_id: int
    ) -> dict[str, Any]:
        """For an agent who may see one of its conversations (or a key with `contacts:read`);
        404 otherwise."""
        reader = reader_of(request.user)
        contact = await get_visible_contact(db_session, reader, contact_id)
        return await contacts.contact_json(db_session, contact, reader)

    @patch(
        "/{contact_id:int}", status_code=HTTP_200_OK, opt={API_SCOPE: Scope.contacts_write.value}
    )
    async def update_contact(
        self, request: AgentRequest, db_session: AsyncSession, contact_id: int,
        data: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        """An agent who may see it, or a business system's key with `contacts:write` (its CRM
        keeping names and attributes in step)."""
        reader = reader_of(request.user)
        contact = await get_visible_contact(db_session, reader, contact_id)
        await contacts.update_contact(db_session, contact, data)
        await commit_and_publish(db_session, context_of(request).redis)
        return await contacts.contact_json(db_session, contact, reader)


class LabelBody(BaseModel):
    name: str | None = Field(default=None, max_length=50)
    colour: str | None = Field(default=None, max_length=7)
    description: str | None = Field(default=None, max_length=255)


class LabelController(Controller):
    path = "/api/v1/labels"
    tags = ["labels"]

    @get("/")
    async def list_labels(self, db_session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
        return {"items": [labels.label_json(x) for x in await labels.all_labels(db_session)]}

    @patch("/{label_id:int}", guards=[require_role(Role.admin)], status_code=HTTP_200_OK)
    async def update_label(
        self, request: AgentRequest, db_session: AsyncSession, label_id: int, data: LabelBody
    ) -> dict[str, Any]:
        """Admins give a label its colour and description (or rename it)."""
        label = await labels.update_label(
            db_session, label_id, colour=data.colour, description=data.description,
            name=data.name, by=request.user,
        )  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return labels.label_json(label)
