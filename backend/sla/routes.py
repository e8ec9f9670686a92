"""SLA policies, the wallboard's queue figures and the period reports: thin handlers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish
from backend.sla import reports, services
from backend.sla.services import PolicyBody, PolicyPatch

LEADS = [require_role(Role.lead, Role.admin)]
AgentRequest = Request[CurrentAgent, Any, Any]


class PolicyController(Controller):
    path = "/api/v1/sla/policies"
    tags = ["sla"]
    guards = LEADS

    @get("/")
    async def list_policies(self, db_session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
        return {"items": await services.list_policies(db_session)}

    @post("/", status_code=HTTP_201_CREATED)
    async def create_policy(
        self, request: AgentRequest, db_session: AsyncSession, data: PolicyBody
    ) -> dict[str, Any]:
        policy = await services.create_policy(db_session, data, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)
        return policy

    @patch("/{policy_id:int}")
    async def update_policy(
        self, request: AgentRequest, db_session: AsyncSession, policy_id: int, data: PolicyPatch
    ) -> dict[str, Any]:
        policy = await services.update_policy(db_session, policy_id, data, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)
        return policy

    @delete("/{policy_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_policy(
        self, request: AgentRequest, db_session: AsyncSession, policy_id: int
    ) -> None:
        await services.delete_policy(db_session, policy_id, by=request.user)
        await commit_and_publish(db_session, context_of(request).redis)


@get("/api/v1/stats/queues", tags=["sla"], guards=LEADS)
async def queue_stats(db_session: AsyncSession) -> dict[str, Any]:
    """Per team: queued, oldest wait, assigned, agents online and away, SLA figures (CONTRACT.md)."""
    return await services.queue_stats(db_session)


def _period(
    start: datetime | None, end: datetime | None, tz: str, team_id: int | None
) -> reports.Period:
    end = end or utcnow()
    return reports.Period.parse(start or end - timedelta(days=7), end, tz, team_id)


class ReportController(Controller):
    """`start`/`end` (ISO 8601 with zone; default the last 7 days), `tz` for hours, `team_id`."""

    path = "/api/v1/reports"
    tags = ["sla"]
    guards = LEADS

    @get("/summary")
    async def summary(
        self, db_session: AsyncSession, start: datetime | None = None, end: datetime | None = None,
        tz: str = "UTC", team_id: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        report = await reports.build(db_session, _period(start, end, tz, team_id))
        return report.figures

    @get("/conversations")
    async def conversations(
        self, db_session: AsyncSession, chart: str, key: str = Parameter(max_length=40),
        start: datetime | None = None, end: datetime | None = None, tz: str = "UTC",
        team_id: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The conversations behind one bar: `chart` (e.g. `first_response`) and its bucket `key`."""
        period = _period(start, end, tz, team_id)
        return {"items": await reports.drilldown(db_session, period, chart, key)}

    @get("/export.csv", media_type="text/csv")
    async def export(
        self, db_session: AsyncSession, start: datetime | None = None,
        end: datetime | None = None, tz: str = "UTC", team_id: int | None = None,
    ) -> Response[str]:  # fmt: skip
        period = _period(start, end, tz, team_id)
        body = await reports.export_csv(db_session, period)
        name = f"switchboard-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
        return Response(
            body, media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip


SLA_HANDLERS: list[Any] = [PolicyController, queue_stats, ReportController]
