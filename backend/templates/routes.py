"""Template routes: thin handlers over the template services (CONTRACT.md's template routes)."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.core.context import context_of
from backend.realtime.events import commit_and_publish
from backend.templates import authoring, services, stats, testing
from backend.templates.authoring import TemplateCreate, TemplateEdit
from backend.templates.services import TemplateError
from backend.templates.stats import TemplateReport, TemplateStats
from backend.templates.testing import TemplateTestResult, TemplateTestSend
from backend.templates.views import (
    LibraryList,
    SyncResult,
    TemplateDetail,
    TemplateList,
    TemplateOut,
)

AgentRequest = Request[CurrentAgent, Any, Any]
GRAPH_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def template_error(_: Request[Any, Any, Any], error: TemplateError) -> Response[dict[str, Any]]:
    """Ours: `detail`. Meta's refusal: also its `code` and `message`, as it said them."""
    body: dict[str, Any] = {"status_code": error.status, "detail": error.detail}
    if error.code is not None:
        body["code"] = error.code
    if error.message is not None:
        body["message"] = error.message
    return Response(body, status_code=error.status)


class TemplateController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]

    @get("/")
    async def list_templates(
        self, db_session: AsyncSession, channel_id: int | None = None,
        status: str | None = Parameter(default=None, max_length=32),
        q: str | None = Parameter(default=None, max_length=100),
        language: str | None = Parameter(default=None, max_length=16),
    ) -> TemplateList:  # fmt: skip
        """Every template (one per name and language) with the parameters each needs; a
        template is `offered` to agents only while APPROVED, and `reason` says why not."""
        items = await services.list_templates(
            db_session, channel_id=channel_id, status=status, q=q, language=language
        )
        return TemplateList.model_validate({"items": items})

    @get("/sync", guards=[require_role(Role.lead, Role.admin)])
    async def sync_state(self, db_session: AsyncSession) -> LibraryList:
        """Each channel's library: when it last synced from Meta and why the last sync failed."""
        return LibraryList.model_validate({"items": await services.library_states(db_session)})

    @post("/sync", status_code=HTTP_200_OK, guards=[require_role(Role.lead, Role.admin)])
    async def sync(
        self, request: AgentRequest, db_session: AsyncSession, channel_id: int | None = None
    ) -> SyncResult:
        """Pulls every page of the channel's templates from Meta now (the default channel
        unless `channel_id`)."""
        settings = context_of(request).settings
        channel = await services.channel_for(db_session, channel_id)
        async with httpx.AsyncClient(timeout=GRAPH_TIMEOUT) as http:
            try:
                received, changed = await services.sync_channel(db_session, channel, settings, http)
            except TemplateError:
                await db_session.commit()  # keep the library's last error for the admin page
                raise
        await commit_and_publish(db_session, context_of(request).redis)
        return SyncResult(synced=received, changed=changed)

    @post("/", status_code=HTTP_201_CREATED, guards=[require_role(Role.admin)])
    async def create(
        self, request: AgentRequest, db_session: AsyncSession, data: TemplateCreate
    ) -> TemplateOut:
        """Checks Meta's rules, then submits to Meta; Meta's refusal is a 422 with its code."""
        settings = context_of(request).settings
        async with httpx.AsyncClient(timeout=GRAPH_TIMEOUT) as http:
            template = await authoring.create_template(
                db_session, data, settings, http, by=request.user
            )
        await commit_and_publish(db_session, context_of(request).redis)
        return await authoring.template_view(db_session, template)

    @get("/{template_id:int}")
    async def get_template(self, db_session: AsyncSession, template_id: int) -> TemplateDetail:
        return await authoring.template_detail(db_session, template_id)

    @post("/{template_id:int}/versions", status_code=HTTP_201_CREATED,
          guards=[require_role(Role.admin)])  # fmt: skip
    async def edit(
        self, request: AgentRequest, db_session: AsyncSession, template_id: int, data: TemplateEdit
    ) -> TemplateDetail:
        """An edit is a new version (back to Meta's review); the old version is kept."""
        settings = context_of(request).settings
        async with httpx.AsyncClient(timeout=GRAPH_TIMEOUT) as http:
            await authoring.edit_template(
                db_session, template_id, data, settings, http, by=request.user
            )
        await commit_and_publish(db_session, context_of(request).redis)
        return await authoring.template_detail(db_session, template_id)

    @post("/{template_id:int}/test", status_code=HTTP_200_OK,
          guards=[require_role(Role.lead, Role.admin)])  # fmt: skip
    async def test_send(
        self,
        request: AgentRequest,
        db_session: AsyncSession,
        template_id: int,
        data: TemplateTestSend,
    ) -> TemplateTestResult:
        """Sends the template to a test number (the sandbox phone by default), checked first."""
        settings = context_of(request).settings
        async with httpx.AsyncClient(timeout=GRAPH_TIMEOUT) as http:
            return await testing.send_test(db_session, template_id, data, settings, http)

    @get("/stats", guards=[require_role(Role.lead, Role.admin)])
    async def report(
        self, db_session: AsyncSession, channel_id: int | None = None,
        since: str | None = Parameter(default=None, description="ISO time, inclusive"),
        until: str | None = Parameter(default=None, description="ISO time, exclusive"),
    ) -> TemplateReport:  # fmt: skip
        """Every template sent in the period with its figures: the table of the lead's reports."""
        return await stats.template_report(db_session, since, until, channel_id)

    @get("/{template_id:int}/stats", guards=[require_role(Role.lead, Role.admin)])
    async def template_stats(
        self, db_session: AsyncSession, template_id: int,
        since: str | None = Parameter(default=None, description="ISO time, inclusive"),
        until: str | None = Parameter(default=None, description="ISO time, exclusive"),
    ) -> TemplateStats:  # fmt: skip
        """Sent, delivered, read, replied within 24 hours and failed (by error code), for this
        template, and per language of its name."""
        return await stats.template_stats(db_session, template_id, since, until)


TEMPLATE_HANDLERS: list[Any] = [TemplateController]
TEMPLATE_EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {TemplateError: template_error}
