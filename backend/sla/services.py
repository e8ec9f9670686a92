"""SLA policies (for leads and admins) and the wallboard's live figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, AgentTeam, Presence, Team
from backend.agents.teams import queue_figures
from backend.audit.changes import config_changed
from backend.conversations.models import Conversation, ConversationStatus
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.sla.models import ClockState, SlaClock, SlaPolicy

STATS_WINDOW = timedelta(hours=24)


class Escalation(BaseModel):
    raise_priority: bool = False
    move_to_team_id: int | None = None
    notify_leads: bool = False


class PolicyBody(BaseModel):
    team_id: int
    priority: int | None = Field(default=None, ge=0, description="null: every other priority")
    first_response_seconds: int | None = Field(default=None, ge=1)
    next_response_seconds: int | None = Field(default=None, ge=1)
    resolution_seconds: int | None = Field(default=None, ge=1)
    warn_at_fraction: float = Field(default=0.8, gt=0, lt=1)
    business_hours: bool = False
    pause_while_waiting_on_customer: bool = False
    escalation: Escalation = Field(default_factory=Escalation)


class PolicyPatch(BaseModel):
    first_response_seconds: int | None = Field(default=None, ge=1)
    next_response_seconds: int | None = Field(default=None, ge=1)
    resolution_seconds: int | None = Field(default=None, ge=1)
    warn_at_fraction: float | None = Field(default=None, gt=0, lt=1)
    business_hours: bool | None = None
    pause_while_waiting_on_customer: bool | None = None
    escalation: Escalation | None = None


def policy_json(policy: SlaPolicy, teams: dict[int, str]) -> dict[str, Any]:
    return {
        "id": policy.id, "team_id": policy.team_id, "team": teams.get(policy.team_id),
        "priority": policy.priority, "first_response_seconds": policy.first_response_seconds,
        "next_response_seconds": policy.next_response_seconds,
        "resolution_seconds": policy.resolution_seconds, "warn_at_fraction": policy.warn_at_fraction,
        "business_hours": policy.business_hours,
        "pause_while_waiting_on_customer": policy.pause_while_waiting_on_customer,
        "escalation": {
            "raise_priority": policy.escalate_raise_priority,
            "move_to_team_id": policy.escalate_move_to_team_id,
            "move_to_team": teams.get(policy.escalate_move_to_team_id or 0),
            "notify_leads": policy.escalate_notify_leads,
        },
        "updated_at": policy.updated_at.isoformat(),
    }  # fmt: skip


async def team_names(session: AsyncSession) -> dict[int, str]:
    return {t.id or 0: t.name for t in (await session.execute(select(Team))).scalars()}


async def list_policies(session: AsyncSession) -> list[dict[str, Any]]:
    teams = await team_names(session)
    rows = await session.execute(
        select(SlaPolicy).order_by(col(SlaPolicy.team_id), col(SlaPolicy.priority))
    )
    return [policy_json(p, teams) for p in rows.scalars()]


async def _check_teams(session: AsyncSession, *team_ids: int | None) -> None:
    for team_id in team_ids:
        if team_id is not None and await session.get(Team, team_id) is None:
            raise ServiceError(422, f"no team with id {team_id}")


def _apply_escalation(policy: SlaPolicy, escalation: Escalation) -> None:
    policy.escalate_raise_priority = escalation.raise_priority
    policy.escalate_move_to_team_id = escalation.move_to_team_id
    policy.escalate_notify_leads = escalation.notify_leads


async def create_policy(
    session: AsyncSession, body: PolicyBody, *, by: Any = None
) -> dict[str, Any]:
    """New clocks use it at once; clocks already running keep the targets they started with.
    Audited and announced (`sla_policy.created`) by whoever `by` is (None: the seed)."""
    await _check_teams(session, body.team_id, body.escalation.move_to_team_id)
    policy = SlaPolicy(**body.model_dump(exclude={"escalation"}))
    _apply_escalation(policy, body.escalation)
    session.add(policy)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise ServiceError(409, "this team already has a policy for that priority") from None
    view = policy_json(policy, await team_names(session))
    await config_changed(session, "sla_policy.created", by=by, target_id=policy.id, after=view)
    return view


async def update_policy(
    session: AsyncSession, policy_id: int, patch: PolicyPatch, *, by: Any = None
) -> dict[str, Any]:
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise ServiceError(404, "no such policy")
    teams = await team_names(session)
    before = policy_json(policy, teams)
    values = patch.model_dump(exclude_unset=True, exclude={"escalation"})
    for name, value in values.items():
        if value is not None or name.endswith("_seconds"):
            setattr(policy, name, value)
    if patch.escalation is not None:
        await _check_teams(session, patch.escalation.move_to_team_id)
        _apply_escalation(policy, patch.escalation)
    policy.updated_at = utcnow()
    await session.flush()
    view = policy_json(policy, teams)
    await config_changed(
        session, "sla_policy.updated", by=by, target_id=policy_id, before=before, after=view
    )
    return view


async def delete_policy(session: AsyncSession, policy_id: int, *, by: Any = None) -> None:
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise ServiceError(404, "no such policy")
    before = policy_json(policy, await team_names(session))
    await session.delete(policy)
    await session.flush()
    await config_changed(session, "sla_policy.deleted", by=by, target_id=policy_id, before=before)


# ---------------------------------------------------------------- the wallboard


async def queue_stats(session: AsyncSession) -> dict[str, Any]:
    """Per team: the queue (shared with the inbox's team list), presence and SLA figures."""
    now = utcnow()
    items = await queue_figures(session)
    presence = await session.execute(
        select(col(AgentTeam.team_id), col(Agent.presence), func.count())
        .join(Agent, col(Agent.id) == col(AgentTeam.agent_id))
        .where(col(Agent.active).is_(True))
        .group_by(col(AgentTeam.team_id), col(Agent.presence))
    )
    by_presence: dict[tuple[int, str], int] = {(t, p): n for t, p, n in presence.all()}
    open_clocks = await session.execute(
        select(col(SlaClock.team_id), col(SlaClock.state), func.count())
        .join(Conversation, col(Conversation.id) == col(SlaClock.conversation_id))
        .where(
            col(Conversation.status) != ConversationStatus.resolved.value,
            or_(
                col(SlaClock.state) == ClockState.warned.value,
                (col(SlaClock.state) == ClockState.breached.value) & col(SlaClock.met_at).is_(None),
            ),
        )
        .group_by(col(SlaClock.team_id), col(SlaClock.state))
    )
    live: dict[tuple[int | None, str], int] = {(t, s): n for t, s, n in open_clocks.all()}
    since = now - STATS_WINDOW
    closed = await session.execute(
        select(col(SlaClock.team_id), col(SlaClock.state), func.count())
        .where(
            col(SlaClock.state).in_([ClockState.met.value, ClockState.breached.value]),
            or_(col(SlaClock.met_at) >= since, col(SlaClock.breached_at) >= since),
        )
        .group_by(col(SlaClock.team_id), col(SlaClock.state))
    )
    recent: dict[tuple[int | None, str], int] = {(t, s): n for t, s, n in closed.all()}
    for item in items:
        team_id = item["id"]
        met = recent.get((team_id, ClockState.met.value), 0)
        breached = recent.get((team_id, ClockState.breached.value), 0)
        item["agents_away"] = by_presence.get((team_id, Presence.away.value), 0)
        item["sla"] = {
            "at_risk": live.get((team_id, ClockState.warned.value), 0),
            "breached_open": live.get((team_id, ClockState.breached.value), 0),
            "met": met, "breached": breached,
            "met_percent": round(100 * met / (met + breached), 1) if met + breached else None,
            "window_hours": int(STATS_WINDOW.total_seconds() // 3600),
        }  # fmt: skip
    return {"items": items, "generated_at": now.isoformat()}
