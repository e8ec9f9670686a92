"""Admin API for bots: a channel's flow (YAML in, versions kept), team hours, consent history."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import ClientException, NotFoundException
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.hours import ScheduleError
from backend.agents.models import Role
from backend.bots import services
from backend.bots.flow import FlowError, flow_graph
from backend.bots.models import BotFlow, TeamSchedule
from backend.conversations.models import Contact
from backend.conversations.visibility import get_visible_contact
from backend.core.context import context_of
from backend.core.errors import ServiceError
from backend.realtime.events import commit_and_publish

AgentRequest = Request[CurrentAgent, Any, Any]
MAX_FLOW_BYTES = 256 * 1024


class HoursBody(BaseModel):
    timezone: str = Field(min_length=1, max_length=64)
    weekly: dict[str, list[list[str]]] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list)


class ConsentBody(BaseModel):
    opted_out: bool


def _hours_view(schedule: TeamSchedule) -> dict[str, Any]:
    return {"team_id": schedule.team_id, "timezone": schedule.timezone, "weekly": schedule.weekly,
            "holidays": schedule.holidays}  # fmt: skip


class BotController(Controller):
    """`PUT` takes the YAML file itself as the body (any text content type)."""

    path = "/api/v1/channels/{channel_id:int}/bot"
    tags = ["bots"]
    guards = [require_role(Role.lead, Role.admin)]

    @get("/")
    async def current(self, db_session: AsyncSession, channel_id: int) -> dict[str, Any]:
        flow = await services.active_flow(db_session, channel_id)
        if flow is None:
            raise NotFoundException("this channel has no active bot flow")
        return services.flow_view(flow)

    @put("/", guards=[require_role(Role.admin)], status_code=200)
    async def replace(
        self, request: AgentRequest, db_session: AsyncSession, channel_id: int
    ) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_FLOW_BYTES:
            raise ServiceError(422, f"line 1: the flow is larger than {MAX_FLOW_BYTES // 1024} KB")
        try:
            source = raw.decode()
        except UnicodeDecodeError:
            raise ServiceError(422, "line 1: the flow is not UTF-8 text") from None
        flow = await services.save_flow(db_session, channel_id, source, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)
        return services.flow_view(flow)

    @post("/validate", status_code=200)
    async def validate(self, request: AgentRequest, db_session: AsyncSession) -> dict[str, Any]:
        """Checks a draft without saving it: `{"ok", "problems": [{"line", "message"}],
        "nodes": [{"id", "kind", "start", "detail", "next", "edges": [{"to", "label"}]}]}`
        (the nodes and their connections for the editor's diagram: `flow_graph`)."""
        raw = await request.body()
        if len(raw) > MAX_FLOW_BYTES:
            return {"ok": False, "nodes": [], "problems": [
                {"line": 1, "message": f"the flow is larger than {MAX_FLOW_BYTES // 1024} KB"}]}  # fmt: skip
        try:
            parsed = await services.check_flow(db_session, raw.decode(errors="replace"))
        except FlowError as error:
            return {"ok": False, "nodes": [],
                    "problems": [{"line": line, "message": reason} for line, reason in error.problems]}  # fmt: skip
        return {"ok": True, "problems": [], "nodes": flow_graph(parsed.definition)}

    @delete("/", guards=[require_role(Role.admin)], status_code=204)
    async def switch_off(
        self, request: AgentRequest, db_session: AsyncSession, channel_id: int
    ) -> None:
        await services.switch_off(db_session, channel_id, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)

    @get("/versions")
    async def versions(self, db_session: AsyncSession, channel_id: int) -> dict[str, Any]:
        flows = await services.flow_versions(db_session, channel_id)
        return {"items": [services.flow_view(f, with_source=False) for f in flows]}

    @get("/versions/{version:int}")
    async def version(
        self, db_session: AsyncSession, channel_id: int, version: int
    ) -> dict[str, Any]:
        flow = (await db_session.execute(select(BotFlow).where(
            col(BotFlow.channel_id) == channel_id, col(BotFlow.version) == version))).scalar_one_or_none()  # fmt: skip
        if flow is None:
            raise NotFoundException("no such version")
        return services.flow_view(flow)

    @post("/versions/{version:int}/activate", guards=[require_role(Role.admin)], status_code=200)
    async def activate(
        self, request: AgentRequest, db_session: AsyncSession, channel_id: int, version: int
    ) -> dict[str, Any]:
        """A rollback: the old source is saved again as the newest version."""
        old = (await db_session.execute(select(BotFlow).where(
            col(BotFlow.channel_id) == channel_id, col(BotFlow.version) == version))).scalar_one_or_none()  # fmt: skip
        if old is None:
            raise NotFoundException("no such version")
        flow = await services.save_flow(
            db_session, channel_id, old.source, by=request.user, restored_from=version
        )
        await commit_and_publish(db_session, context_of(request).redis)
        return services.flow_view(flow)


@get("/api/v1/teams/{team_id:int}/hours", tags=["bots"])
async def get_team_hours(db_session: AsyncSession, team_id: int) -> dict[str, Any]:
    schedule = await db_session.get(TeamSchedule, team_id)
    if schedule is None:
        raise NotFoundException("this team has no business hours: it is always open")
    return _hours_view(schedule)


@put(
    "/api/v1/teams/{team_id:int}/hours", tags=["bots"], guards=[require_role(Role.lead, Role.admin)]
)
async def put_team_hours(
    request: AgentRequest, db_session: AsyncSession, team_id: int, data: HoursBody
) -> dict[str, Any]:
    try:
        schedule = await services.set_team_hours(
            db_session, team_id, data.timezone, data.weekly, data.holidays, by=request.user
        )
    except ScheduleError as error:
        raise ClientException(
            str(error), status_code=422, extra=[{"key": error.field, "message": error.reason}]
        ) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return _hours_view(schedule)


async def _consent_view(db_session: AsyncSession, contact_id: int) -> dict[str, Any]:
    contact = await db_session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundException("no such contact")
    history = await services.consent_history(db_session, contact_id)
    return {"opted_out": contact.opted_out, "changes": [
        {"opted_out": c.opted_out, "source": c.source, "detail": c.detail, "message_id": c.message_id,
         "at": c.created_at.isoformat()} for c in history
    ]}  # fmt: skip


@get("/api/v1/contacts/{contact_id:int}/consent", tags=["bots"])
async def get_consent(
    request: AgentRequest, db_session: AsyncSession, contact_id: int
) -> dict[str, Any]:
    """Only for a contact the caller may see (through one of its conversations): 404 otherwise."""
    await get_visible_contact(db_session, request.user, contact_id)
    return await _consent_view(db_session, contact_id)


@put(
    "/api/v1/contacts/{contact_id:int}/consent",
    tags=["bots"],
    guards=[require_role(Role.lead, Role.admin)],
)
async def put_consent(
    request: AgentRequest, db_session: AsyncSession, contact_id: int, data: ConsentBody
) -> dict[str, Any]:
    """A lead records a consent change the customer made elsewhere (source `agent:<id>`)."""
    contact = await db_session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundException("no such contact")
    await services.set_consent(
        db_session, contact, opted_out=data.opted_out, source=f"agent:{request.user.id}"
    )
    await db_session.commit()
    return await _consent_view(db_session, contact_id)


BOT_HANDLERS: list[Any] = [BotController, get_team_hours, put_team_hours, get_consent, put_consent]
