"""Reports over a seeded period in 2020 (nothing else in the suite lives there), on a team of
its own: every figure below is computed by hand from the seed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, select

from backend.channels.models import Channel
from backend.conversations.models import Contact, Conversation, Message
from backend.core.context import AppContext
from backend.sla.models import SlaClock
from backend.surveys.models import Survey
from tests.conftest import login
from tests.sla.support import team_with_policy
from tests.support.whatsapp import new_wa_id

DAY = datetime(2020, 3, 2, tzinfo=UTC)


async def _seed(ctx: AppContext, team_id: int, agent_id: int) -> dict[str, int]:
    """c1: answered in 30 s, resolved in 10 min, rated 5, customer replied; c2: answered in
    4 min, resolved in 2 h, rated 3, its reply failed; c3: waiting, unanswered. Plus one
    conversation the day after (outside the period)."""
    async with ctx.sessions() as session:
        channel = (
            await session.execute(select(Channel).where(col(Channel.phone_number_id) == "sandbox"))
        ).scalar_one()
        ids: dict[str, int] = {}
        plan = [
            ("c1", DAY + timedelta(hours=9, minutes=10), 30, 600, 5,
             [("customer", "received"), ("agent", "read"), ("agent", "delivered"), ("customer", "received")],
             [("first_response", "met", agent_id), ("resolution", "met", agent_id)]),
            ("c2", DAY + timedelta(hours=9, minutes=40), 240, 7200, 3,
             [("customer", "received"), ("agent", "failed")],
             [("first_response", "breached", agent_id)]),
            ("c3", DAY + timedelta(hours=14, minutes=5), None, None, None,
             [("customer", "received")], [("first_response", "breached", None)]),
            ("later", DAY + timedelta(days=1, hours=1), 10, None, 1, [("customer", "received")], []),
        ]  # fmt: skip
        for name, created, first, resolved, rating, messages, clocks in plan:
            contact = Contact(channel_id=channel.id, wa_id=new_wa_id(), name=f"Seed {name}")
            session.add(contact)
            await session.flush()
            conversation = Conversation(
                channel_id=channel.id, contact_id=contact.id, team_id=team_id,
                status="resolved", assignee_id=agent_id, created_at=created, updated_at=created,
                last_activity_at=created,
                first_response_at=created + timedelta(seconds=first) if first else None,
                resolved_at=created + timedelta(seconds=resolved) if resolved else None,
            )  # fmt: skip
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            ids[name] = conversation.id
            for sender, status in messages:
                session.add(Message(
                    conversation_id=conversation.id, channel_id=channel.id,
                    direction="inbound" if sender == "customer" else "outbound", sender=sender,
                    sender_agent_id=agent_id if sender == "agent" else None, text="x",
                    status=status, created_at=created,
                ))  # fmt: skip
                await session.flush()
            for kind, state, owner in clocks:
                session.add(SlaClock(
                    conversation_id=conversation.id, kind=kind, team_id=team_id, agent_id=owner,
                    state=state, target_seconds=60, started_at=created,
                ))  # fmt: skip
            if rating is not None:
                session.add(Survey(
                    conversation_id=conversation.id, contact_id=contact.id, channel_id=channel.id,
                    team_id=team_id, agent_id=agent_id, state="answered", rating=rating,
                ))  # fmt: skip
        await session.commit()
    return ids


async def test_reports_on_a_seeded_period_equal_the_figures_worked_out_by_hand(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext
) -> None:
    team = await team_with_policy(client, make_agent)
    ids = await _seed(ctx, team.id, team.agent["id"])
    period = {
        "start": DAY.isoformat(), "end": (DAY + timedelta(days=1)).isoformat(), "team_id": team.id,
    }  # fmt: skip
    response = await client.get("/api/v1/reports/summary", params=period, headers=team.lead_headers)
    assert response.status_code == 200, response.text
    report = response.json()

    assert report["totals"] == {"conversations": 3, "resolved": 2}
    hours = {b["key"]: b["count"] for b in report["by_hour"]}
    assert hours["9"] == 2 and hours["14"] == 1 and sum(hours.values()) == 3

    first = report["first_response"]
    assert {b["key"]: b["count"] for b in first["buckets"] if b["count"]} == {
        "lt1m": 1, "1-5m": 1, "none": 1,
    }  # fmt: skip
    assert (first["average_seconds"], first["median_seconds"]) == (135.0, 135.0)
    resolution = report["resolution"]
    assert {b["key"]: b["count"] for b in resolution["buckets"] if b["count"]} == {
        "lt15m": 1, "1-4h": 1, "open": 1,
    }  # fmt: skip
    assert resolution["average_seconds"] == 3900.0

    assert report["sla_by_team"] == [{
        "key": str(team.id), "label": team.name, "met": 2, "breached": 2, "met_percent": 50.0,
    }]  # fmt: skip
    assert report["sla_by_agent"] == [{
        "key": str(team.agent["id"]), "label": team.agent["name"], "met": 2, "breached": 1,
        "met_percent": 66.7,
    }]  # fmt: skip

    csat = report["csat"]
    assert (csat["average"], csat["responses"]) == (4.0, 2)
    assert {b["key"]: b["count"] for b in csat["buckets"] if b["count"]} == {"5": 1, "3": 1}

    delivery = report["delivery"]
    assert {k: delivery[k] for k in ("settled", "delivered", "read", "failed")} == {
        "settled": 3, "delivered": 2, "read": 1, "failed": 1,
    }  # fmt: skip
    assert (delivery["delivery_rate"], delivery["read_rate"]) == (66.7, 33.3)
    assert (delivery["conversations_with_reply"], delivery["customer_replied"]) == (2, 1)
    assert delivery["reply_rate"] == 50.0

    async def behind(chart: str, key: str) -> list[int]:
        found = await client.get(
            "/api/v1/reports/conversations", params={**period, "chart": chart, "key": key},
            headers=team.lead_headers,
        )  # fmt: skip
        assert found.status_code == 200, found.text
        return [row["id"] for row in found.json()["items"]]

    assert await behind("by_hour", "9") == [ids["c1"], ids["c2"]]
    assert await behind("first_response", "1-5m") == [ids["c2"]]
    assert await behind("first_response", "none") == [ids["c3"]]
    assert await behind("csat", "5") == [ids["c1"]]
    assert await behind("delivery", "failed") == [ids["c2"]]
    assert await behind("sla_by_team", str(team.id)) == [ids["c1"], ids["c2"], ids["c3"]]

    exported = await client.get(
        "/api/v1/reports/export.csv", params=period, headers=team.lead_headers
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in rows] == [ids["c1"], ids["c2"], ids["c3"]]
    assert rows[0]["first_response_seconds"] == "30.0" and rows[0]["csat"] == "5"
    assert rows[1]["sla_first_response"] == "breached"

    # Per label: the labelled conversations' count, resolutions and SLA clocks, as in the rows.
    vip = f"vip-{team.id}"
    for cid in (ids["c1"], ids["c3"]):
        put = await client.put(f"/api/v1/conversations/{cid}/labels", json={"labels": [vip]},
                               headers=team.lead_headers)  # fmt: skip
        assert put.status_code == 200, put.text
    labelled = (
        await client.get("/api/v1/reports/summary", params=period, headers=team.lead_headers)
    ).json()
    picked = [r for r in rows if int(r["id"]) in (ids["c1"], ids["c3"])]
    states = [v for r in picked for k, v in r.items() if k.startswith("sla_")]
    assert labelled["by_label"] == [{
        "key": vip, "label": vip, "conversations": 2,
        "resolved": sum(bool(r["resolution_seconds"]) for r in picked),
        "met": states.count("met"), "breached": states.count("breached"),
        "met_percent": round(100 * states.count("met") / max(1, states.count("met") + states.count("breached")), 1)
        if states.count("met") + states.count("breached") else None,
    }]  # fmt: skip
    assert await behind("by_label", vip) == [ids["c1"], ids["c3"]]


async def test_reports_and_queue_stats_are_for_leads_only(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await login(client, await make_agent("agent"))
    for path in ("/api/v1/stats/queues", "/api/v1/reports/summary", "/api/v1/sla/policies"):
        assert (await client.get(path, headers=agent)).status_code == 403
    lead = await login(client, await make_agent("lead"))
    bad = await client.get(
        "/api/v1/reports/summary", headers=lead,
        params={"start": "2020-01-01T00:00:00Z", "end": "2020-12-31T00:00:00Z"},
    )  # fmt: skip
    assert bad.status_code == 422


async def test_queue_stats_follow_a_team_queue(client: httpx.AsyncClient, make_agent: Any) -> None:
    from tests.sla.support import queue_into

    team = await team_with_policy(client, make_agent, first_response_seconds=3600)

    async def mine() -> dict[str, Any]:
        response = await client.get("/api/v1/stats/queues", headers=team.lead_headers)
        assert response.status_code == 200, response.text
        return next(t for t in response.json()["items"] if t["id"] == team.id)

    empty = await mine()
    assert (empty["queued"], empty["assigned"], empty["oldest_wait_seconds"]) == (0, 0, 0)
    assert set(empty["sla"]) >= {"at_risk", "breached_open", "met", "breached", "met_percent"}
    queued = await queue_into(client, team)
    figures = await mine()
    assert (figures["queued"], figures["assigned"]) == (1, 0)
    await client.post(f"/api/v1/conversations/{queued['id']}/claim", headers=team.agent_headers)
    figures = await mine()
    assert (figures["queued"], figures["assigned"]) == (0, 1)


async def test_policies_are_managed_by_leads(client: httpx.AsyncClient, make_agent: Any) -> None:
    team = await team_with_policy(client, make_agent)
    body = {"team_id": team.id, "priority": 2, "first_response_seconds": 300}
    created = await client.post("/api/v1/sla/policies", json=body, headers=team.lead_headers)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["team"] == team.name and policy["warn_at_fraction"] == 0.8
    again = await client.post("/api/v1/sla/policies", json=body, headers=team.lead_headers)
    assert again.status_code == 409
    changed = await client.patch(
        f"/api/v1/sla/policies/{policy['id']}", json={"resolution_seconds": 3600},
        headers=team.lead_headers,
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["resolution_seconds"] == 3600
    assert changed.json()["first_response_seconds"] == 300
    invalid = await client.post(
        "/api/v1/sla/policies", json={**body, "priority": 3, "warn_at_fraction": 1.5},
        headers=team.lead_headers,
    )  # fmt: skip
    assert invalid.status_code == 400 or invalid.status_code == 422
    deleted = await client.delete(f"/api/v1/sla/policies/{policy['id']}", headers=team.lead_headers)
    assert deleted.status_code == 204


async def test_billable_messages_by_category_and_day_from_metas_pricing(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext
) -> None:
    team, other = (
        await team_with_policy(client, make_agent),
        await team_with_policy(client, make_agent),
    )
    start = datetime(2020, 4, 6, tzinfo=UTC)
    plan = [  # team, hours after start, category, billable
        (team.id, 1, "utility", True), (team.id, 2, "utility", True), (team.id, 3, "service", False),
        (team.id, 30, "marketing", True), (team.id, 31, None, None),
        (team.id, 60, "marketing", True),  # after the period
        (other.id, 4, "utility", True),  # another team
    ]  # fmt: skip
    async with ctx.sessions() as session:
        channel = (
            await session.execute(select(Channel).where(col(Channel.phone_number_id) == "sandbox"))
        ).scalar_one()
        for team_id, hours, category, billable in plan:
            at = start + timedelta(hours=hours)
            contact = Contact(channel_id=channel.id, wa_id=new_wa_id(), name="Billing seed")
            session.add(contact)
            await session.flush()
            conversation = Conversation(channel_id=channel.id, contact_id=contact.id, team_id=team_id,
                                        status="resolved", created_at=at, updated_at=at, last_activity_at=at)  # fmt: skip
            session.add(conversation)
            await session.flush()
            session.add(Message(conversation_id=conversation.id, channel_id=channel.id,
                                direction="outbound", sender="agent", text="x", status="delivered",
                                pricing_category=category, billable=billable, created_at=at))  # fmt: skip
        await session.commit()
    period = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
              "team_id": team.id, "tz": "UTC"}  # fmt: skip
    response = await client.get("/api/v1/reports/summary", params=period, headers=team.lead_headers)
    assert response.status_code == 200, response.text
    billing = response.json()["billing"]
    assert (billing["billable"], billing["free"]) == (3, 1)
    assert billing["by_category"] == [
        {"category": "marketing", "billable": 1, "free": 0},
        {"category": "service", "billable": 0, "free": 1},
        {"category": "utility", "billable": 2, "free": 0},
    ]
    assert billing["billable_by_day"] == [
        {"day": "2020-04-06", "by_category": {"utility": 2}},
        {"day": "2020-04-07", "by_category": {"marketing": 1}},
    ]
