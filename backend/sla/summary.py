"""The SLA part of a conversation's JSON (`conversations_json` calls `sla_summaries`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.sla.models import ClockState, SlaClock

# The state a conversation shows is its most urgent clock's.
URGENCY = ["breached", "warned", "running", "paused", "met"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def clock_json(clock: SlaClock) -> dict[str, Any]:
    return {
        "id": clock.id, "kind": clock.kind, "cycle": clock.cycle, "state": clock.state,
        "version": clock.version, "target_seconds": clock.target_seconds,
        "started_at": _iso(clock.started_at), "warn_at": _iso(clock.warn_at),
        "due_at": _iso(clock.due_at), "warned_at": _iso(clock.warned_at),
        "breached_at": _iso(clock.breached_at), "met_at": _iso(clock.met_at),
        "paused_seconds": round(clock.paused_seconds, 3), "business_hours": clock.business_hours,
    }  # fmt: skip


def summarize(clocks: list[SlaClock]) -> dict[str, Any] | None:
    """The newest cycle of each kind; None when no policy ever applied."""
    current: dict[str, SlaClock] = {}
    for clock in clocks:
        if clock.state == ClockState.cancelled.value:
            continue
        if clock.kind not in current or clock.cycle > current[clock.kind].cycle:
            current[clock.kind] = clock
    if not current:
        return None
    shown = sorted(current.values(), key=lambda c: (URGENCY.index(c.state), c.id or 0))
    due = [c.due_at for c in shown if c.state in ("running", "warned") and c.due_at is not None]
    return {
        "state": shown[0].state,
        "due_at": _iso(min(due)) if due else None,
        "clocks": [clock_json(c) for c in sorted(current.values(), key=lambda c: c.id or 0)],
    }


async def sla_summaries(
    session: AsyncSession, conversation_ids: list[int]
) -> dict[int, dict[str, Any] | None]:
    """Each conversation's `summarize`d clocks, for a whole page of conversations in one query."""
    clocks: dict[int, list[SlaClock]] = {i: [] for i in conversation_ids}
    if conversation_ids:
        rows = await session.execute(
            select(SlaClock).where(col(SlaClock.conversation_id).in_(conversation_ids))
        )
        for clock in rows.scalars():
            clocks[clock.conversation_id].append(clock)
    return {i: summarize(found) for i, found in clocks.items()}
