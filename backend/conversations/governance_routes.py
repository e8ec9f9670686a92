"""`POST /api/v1/contacts/{id}/export` and `…/erase` (admins): a customer's data on request."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.audit import services as audit
from backend.conversations.governance import (
    audit_view,
    erase_contact,
    export_contact,
    export_filename,
)
from backend.conversations.models import Contact
from backend.core.context import context_of
from backend.media.jobs import storage_of

AdminRequest = Request[CurrentAgent, Any, Any]


async def _contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundException("no such contact")
    return contact


@post(
    "/api/v1/contacts/{contact_id:int}/export", tags=["contacts"], status_code=HTTP_200_OK,
    guards=[require_role(Role.admin)],
)  # fmt: skip
async def export(
    request: AdminRequest, db_session: AsyncSession, contact_id: int
) -> Response[bytes]:
    """A zip of `contact.json` (contact, consent, conversations with their messages) and the
    customer's stored files under `media/`."""
    contact = await _contact(db_session, contact_id)
    archive = await export_contact(db_session, contact, storage_of(context_of(request)))
    await audit.record(db_session, "contact.exported", user=request.user, target_type="contact",
                       target_id=contact_id, after=audit_view(contact))  # fmt: skip
    await db_session.commit()
    return Response(
        archive, media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{export_filename(contact)}"'},
    )  # fmt: skip


@post(
    "/api/v1/contacts/{contact_id:int}/erase", tags=["contacts"], status_code=HTTP_200_OK,
    guards=[require_role(Role.admin)],
)  # fmt: skip
async def erase(request: AdminRequest, db_session: AsyncSession, contact_id: int) -> dict[str, Any]:
    """Erases what the customer said and sent and anonymizes them; the audit entry stays."""
    contact = await _contact(db_session, contact_id)
    counts = await erase_contact(db_session, contact, storage_of(context_of(request)))
    await audit.record(db_session, "contact.erased", user=request.user, target_type="contact",
                       target_id=contact_id, after={**audit_view(contact), **counts})  # fmt: skip
    await db_session.commit()
    return {"erased": counts}


GOVERNANCE_HANDLERS: list[Any] = [export, erase]
