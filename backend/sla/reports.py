"""Reports over a period: the figures behind the lead's charts, which conversations make up each
bar, and a CSV of the same rows.

The cohort is the conversations created in [start, end) (optionally of one team, as they are
now). Every chart is computed from the same per-conversation rows in Python, which keeps the
figures identical on SQLite and PostgreSQL and lets a chart's bar list exactly the conversations
it counted (`members`). Periods are capped at `MAX_PERIOD` to bound the work.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, Team
from backend.conversations.models import Contact, Conversation, Direction, Message, Sender
from backend.core.errors import ServiceError
from backend.core.spreadsheets import safe_row
from backend.sla.billing import billing
from backend.sla.models import ClockState, SlaClock

MAX_PERIOD = timedelta(days=93)
CHUNK = 500

# (key, label, lower bound in seconds); each bucket runs to the next one's bound.
FIRST_RESPONSE_BUCKETS = [
    ("lt1m", "< 1 min", 0), ("1-5m", "1-5 min", 60), ("5-15m", "5-15 min", 300),
    ("15-30m", "15-30 min", 900), ("30-60m", "30-60 min", 1800), ("1-4h", "1-4 h", 3600),
    ("4-24h", "4-24 h", 14400), ("gt24h", "> 24 h", 86400),
]  # fmt: skip
RESOLUTION_BUCKETS = [
    ("lt15m", "< 15 min", 0), ("15-60m", "15-60 min", 900), ("1-4h", "1-4 h", 3600),
    ("4-24h", "4-24 h", 14400), ("1-3d", "1-3 days", 86400), ("gt3d", "> 3 days", 259200),
]  # fmt: skip
DELIVERED = ("delivered", "read", "played")
READ = ("read", "played")
SETTLED = ("sent", "delivered", "read", "played", "failed", "dead")
CHARTS = (
    "by_hour", "first_response", "resolution", "sla_by_team", "sla_by_agent", "csat", "delivery",
    "by_label",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    zone: ZoneInfo
    team_id: int | None = None

    @classmethod
    def parse(
        cls, start: datetime, end: datetime, tz: str = "UTC", team_id: int | None = None
    ) -> Period:
        if start.tzinfo is None or end.tzinfo is None:
            raise ServiceError(422, "start and end need a time zone (e.g. 2026-11-01T00:00:00Z)")
        if end <= start:
            raise ServiceError(422, "end must be after start")
        if end - start > MAX_PERIOD:
            raise ServiceError(422, f"the period may be at most {MAX_PERIOD.days} days")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ServiceError(422, f"unknown time zone {tz!r}") from None
        return cls(start, end, zone, team_id)


@dataclass
class Row:
    """One conversation of the cohort with everything the charts need."""

    id: int
    contact: str
    team_id: int | None
    team: str | None
    assignee: str | None
    status: str
    created_at: datetime
    first_response_seconds: float | None
    resolution_seconds: float | None
    csat: int | None = None
    outbound: list[str] = field(default_factory=list)  # statuses of agent and bot messages
    replied: bool | None = None  # None: no agent reply to reply to
    clocks: list[SlaClock] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id, "contact": self.contact, "team": self.team, "assignee": self.assignee,
            "status": self.status, "created_at": self.created_at.isoformat(),
            "first_response_seconds": _round(self.first_response_seconds),
            "resolution_seconds": _round(self.resolution_seconds), "csat": self.csat,
            "sla": {c.kind: c.state for c in self.clocks if c.state != ClockState.cancelled.value},
        }  # fmt: skip


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


async def csat_ratings(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, int]:
    """The customer's 1-5 rating per conversation, from the surveys domain's table.

    Kept in this one function so that a change in how surveys store answers touches only here.
    """
    from backend.surveys.models import Survey

    ratings: dict[int, int] = {}
    for chunk in _chunks(conversation_ids):
        rows = await session.execute(
            select(col(Survey.conversation_id), col(Survey.rating)).where(
                col(Survey.conversation_id).in_(chunk), col(Survey.rating).is_not(None)
            )
        )
        ratings.update({cid: int(rating) for cid, rating in rows.all() if rating is not None})
    return ratings


async def cohort(session: AsyncSession, period: Period) -> list[Row]:
    query = (
        select(Conversation, Contact)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(
            col(Conversation.created_at) >= period.start, col(Conversation.created_at) < period.end
        )
        .order_by(col(Conversation.created_at), col(Conversation.id))
    )
    if period.team_id is not None:
        query = query.where(col(Conversation.team_id) == period.team_id)
    pairs = list((await session.execute(query)).all())
    teams = {t.id: t.name for t in (await session.execute(select(Team))).scalars()}
    agent_ids = {c.assignee_id for c, _ in pairs if c.assignee_id is not None}
    agents = {a.id: a.name for a in await _agents(session, agent_ids)}
    rows: dict[int, Row] = {}
    for conversation, contact in pairs:
        assert conversation.id is not None
        first = conversation.first_response_at
        resolved = conversation.resolved_at
        rows[conversation.id] = Row(
            id=conversation.id, contact=contact.label, team_id=conversation.team_id,
            team=teams.get(conversation.team_id), assignee=agents.get(conversation.assignee_id),
            status=conversation.status, created_at=conversation.created_at,
            first_response_seconds=(first - conversation.created_at).total_seconds() if first else None,
            resolution_seconds=(resolved - conversation.created_at).total_seconds() if resolved else None,
        )  # fmt: skip
    ids = list(rows)
    for cid, rating in (await csat_ratings(session, ids)).items():
        rows[cid].csat = rating
    await _messages(session, rows)
    for chunk in _chunks(ids):
        clocks = await session.execute(
            select(SlaClock).where(col(SlaClock.conversation_id).in_(chunk)).order_by(col(SlaClock.id))
        )  # fmt: skip
        for clock in clocks.scalars():
            rows[clock.conversation_id].clocks.append(clock)
    return list(rows.values())


async def _agents(session: AsyncSession, ids: set[int]) -> list[Agent]:
    if not ids:
        return []
    return list((await session.execute(select(Agent).where(col(Agent.id).in_(ids)))).scalars())


async def _messages(session: AsyncSession, rows: dict[int, Row]) -> None:
    """Outbound statuses, and whether the customer wrote after the first agent reply."""
    first_agent: dict[int, int] = {}
    last_customer: dict[int, int] = {}
    for chunk in _chunks(list(rows)):
        messages = await session.execute(
            sa_select(col(Message.conversation_id), col(Message.id), col(Message.direction),
                      col(Message.sender), col(Message.status))
            .where(col(Message.conversation_id).in_(chunk), col(Message.type) != "note")
            .order_by(col(Message.id))
        )  # fmt: skip
        for cid, mid, direction, sender, status in messages.all():
            assert mid is not None
            if direction == Direction.outbound.value and sender in (Sender.agent, Sender.bot):
                rows[cid].outbound.append(status)
            if sender == Sender.agent.value:
                first_agent.setdefault(cid, mid)
            elif sender == Sender.customer.value:
                last_customer[cid] = mid
    for cid, first in first_agent.items():
        rows[cid].replied = last_customer.get(cid, 0) > first


def _bucket(seconds: float, buckets: list[tuple[str, str, int]]) -> str:
    chosen = buckets[0][0]
    for key, _, lower in buckets:
        if seconds >= lower:
            chosen = key
    return chosen


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class Report:
    figures: dict[str, Any]
    members: dict[str, dict[str, list[int]]]
    rows: dict[int, Row]


def _distribution(
    rows: list[Row], value: str, buckets: list[tuple[str, str, int]], missing: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    members: dict[str, list[int]] = {key: [] for key, _, _ in buckets}
    members[missing[0]] = []
    values = []
    for row in rows:
        seconds = getattr(row, value)
        if seconds is None:
            members[missing[0]].append(row.id)
            continue
        values.append(seconds)
        members[_bucket(seconds, buckets)].append(row.id)
    labels = {key: label for key, label, _ in buckets} | {missing[0]: missing[1]}
    figures = {
        "buckets": [{"key": k, "label": labels[k], "count": len(v)} for k, v in members.items()],
        "count": len(values),
        "average_seconds": _round(statistics.fmean(values)) if values else None,
        "median_seconds": _round(statistics.median(values)) if values else None,
    }
    return figures, members


def _sla(rows: list[Row], by: str, names: dict[int, str]) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:  # fmt: skip
    tally: dict[int, Counter[str]] = defaultdict(Counter)
    members: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        for clock in row.clocks:
            if clock.state not in (ClockState.met.value, ClockState.breached.value):
                continue
            owner = clock.team_id if by == "team" else clock.agent_id
            if owner is None:
                continue
            tally[owner][clock.state] += 1
            if row.id not in members[str(owner)]:
                members[str(owner)].append(row.id)
    items = []
    for owner, counts in sorted(tally.items(), key=lambda kv: names.get(kv[0], "")):
        met, breached = counts[ClockState.met.value], counts[ClockState.breached.value]
        items.append({
            "key": str(owner), "label": names.get(owner, f"#{owner}"), "met": met,
            "breached": breached, "met_percent": _percent(met, met + breached),
        })  # fmt: skip
    return items, dict(members)


async def _by_label(session: AsyncSession, rows: list[Row]) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:  # fmt: skip
    """Per label of the cohort's conversations: how many, resolved, and SLA clocks met/breached."""
    from backend.conversations.labels import labels_of

    names: dict[int, list[str]] = {}
    for chunk in _chunks([row.id for row in rows]):
        names.update(await labels_of(session, list(chunk)))
    members: dict[str, list[int]] = defaultdict(list)
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for name in names.get(row.id, []):
            members[name].append(row.id)
            tally[name]["conversations"] += 1
            tally[name]["resolved"] += row.resolution_seconds is not None
            for clock in row.clocks:
                if clock.state in (ClockState.met.value, ClockState.breached.value):
                    tally[name][clock.state] += 1
    items = []
    for name in sorted(tally, key=str.lower):
        counts = tally[name]
        met, breached = counts[ClockState.met.value], counts[ClockState.breached.value]
        items.append({
            "key": name, "label": name, "conversations": counts["conversations"],
            "resolved": counts["resolved"], "met": met, "breached": breached,
            "met_percent": _percent(met, met + breached),
        })  # fmt: skip
    return items, dict(members)


async def build(session: AsyncSession, period: Period) -> Report:
    rows = await cohort(session, period)
    members: dict[str, dict[str, list[int]]] = {}
    by_hour: dict[str, list[int]] = {str(h): [] for h in range(24)}
    for row in rows:
        by_hour[str(row.created_at.astimezone(period.zone).hour)].append(row.id)
    members["by_hour"] = by_hour
    first, members["first_response"] = _distribution(
        rows, "first_response_seconds", FIRST_RESPONSE_BUCKETS, ("none", "No reply yet")
    )
    resolution, members["resolution"] = _distribution(
        rows, "resolution_seconds", RESOLUTION_BUCKETS, ("open", "Not resolved")
    )
    teams = {t.id or 0: t.name for t in (await session.execute(select(Team))).scalars()}
    agent_ids = {c.agent_id for r in rows for c in r.clocks if c.agent_id is not None}
    agents = {a.id or 0: a.name for a in await _agents(session, agent_ids)}
    sla_team, members["sla_by_team"] = _sla(rows, "team", teams)
    sla_agent, members["sla_by_agent"] = _sla(rows, "agent", agents)
    by_label, members["by_label"] = await _by_label(session, rows)
    csat: dict[str, list[int]] = {str(n): [] for n in range(1, 6)}
    for row in rows:
        if row.csat is not None:
            csat.setdefault(str(row.csat), []).append(row.id)
    members["csat"] = csat
    ratings = [row.csat for row in rows if row.csat is not None]
    delivery: dict[str, list[int]] = {"delivered": [], "read": [], "failed": [], "replied": []}
    settled = delivered = read = failed = 0
    with_reply = replied = 0
    for row in rows:
        done = [s for s in row.outbound if s in SETTLED]
        settled += len(done)
        counts = (
            sum(s in DELIVERED for s in done), sum(s in READ for s in done),
            sum(s in ("failed", "dead") for s in done),
        )  # fmt: skip
        delivered, read, failed = delivered + counts[0], read + counts[1], failed + counts[2]
        for key, number in zip(("delivered", "read", "failed"), counts, strict=True):
            if number:
                delivery[key].append(row.id)
        if row.replied is not None:
            with_reply += 1
            if row.replied:
                replied += 1
                delivery["replied"].append(row.id)
    members["delivery"] = delivery
    figures = {
        "billing": await billing(session, period),
        "period": {
            "start": period.start.isoformat(), "end": period.end.isoformat(),
            "tz": period.zone.key, "team_id": period.team_id,
        },
        "totals": {
            "conversations": len(rows),
            "resolved": sum(r.resolution_seconds is not None for r in rows),
        },
        "by_hour": [
            {"key": k, "label": f"{int(k):02d}:00", "count": len(v)} for k, v in by_hour.items()
        ],
        "first_response": first,
        "resolution": resolution,
        "sla_by_team": sla_team,
        "sla_by_agent": sla_agent,
        "by_label": by_label,
        "csat": {
            "average": round(statistics.fmean(ratings), 2) if ratings else None,
            "responses": len(ratings),
            "buckets": [{"key": k, "label": f"{k} ★", "count": len(v)} for k, v in csat.items()],
        },
        "delivery": {
            "settled": settled, "delivered": delivered, "read": read, "failed": failed,
            "delivery_rate": _percent(delivered, settled), "read_rate": _percent(read, settled),
            "conversations_with_reply": with_reply, "customer_replied": replied,
            "reply_rate": _percent(replied, with_reply),
            "buckets": [
                {"key": "delivered", "label": "Delivered", "count": delivered},
                {"key": "read", "label": "Read", "count": read},
                {"key": "failed", "label": "Failed", "count": failed},
                {"key": "replied", "label": "Customer replied", "count": replied},
            ],
        },
    }  # fmt: skip
    return Report(figures, members, {r.id: r for r in rows})


async def drilldown(session: AsyncSession, period: Period, chart: str, key: str) -> list[dict[str, Any]]:  # fmt: skip
    """The conversations behind one bar of one chart."""
    if chart not in CHARTS:
        raise ServiceError(422, f"chart must be one of {', '.join(CHARTS)}")
    report = await build(session, period)
    ids = report.members.get(chart, {}).get(key, [])
    return [report.rows[cid].json() for cid in ids]


CSV_COLUMNS = [
    "id", "created_at", "contact", "team", "assignee", "status", "first_response_seconds",
    "resolution_seconds", "sla_first_response", "sla_next_response", "sla_resolution", "csat",
]  # fmt: skip


async def export_csv(session: AsyncSession, period: Period) -> str:
    report = await build(session, period)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows.values():
        data = row.json()
        writer.writerow(safe_row([
            row.id, data["created_at"], row.contact, row.team or "", row.assignee or "",
            row.status, data["first_response_seconds"] or "", data["resolution_seconds"] or "",
            data["sla"].get("first_response", ""), data["sla"].get("next_response", ""),
            data["sla"].get("resolution", ""), row.csat or "",
        ]))  # fmt: skip
    return out.getvalue()
