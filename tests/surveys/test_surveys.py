"""CSAT surveys end to end: resolved by an agent, sent by the worker as a native list, answered
with a tap and a comment, never reopening anything; and every reason not to send one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from backend.conversations.models import Contact
from backend.core.context import AppContext
from backend.db.types import utcnow
from backend.surveys.models import Survey, SurveyConfig
from tests.conftest import login, unique
from tests.support.bots import Customer, make_channel, rows_of, wa_id_where_local_hour, wait_for
from tests.support.servers import LiveWorker

DAYTIME = range(9, 20)
NIGHT = range(0, 6)


@pytest.fixture
async def desk(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> dict[str, Any]:
    """Its own channel and team (surveys after 0.3 s there), and an agent of that team."""
    team = unique("Support")
    channel = await make_channel(ctx, team)
    async with ctx.sessions() as session:
        session.add(SurveyConfig(channel_id=channel["id"], delay_seconds=0.3))
        await session.commit()
    agent = await make_agent("agent", teams=[team], name="Alex Agent")
    return {**channel, "agent": agent, "headers": await login(client, agent)}


def new_customer(
    client: httpx.AsyncClient, desk: dict[str, Any], hours: range = DAYTIME
) -> Customer:
    return Customer(client, desk["phone_number_id"], wa_id_where_local_hour(hours))


async def served_and_resolved(
    client: httpx.AsyncClient, desk: dict[str, Any], customer: Customer, *, reply: bool = True,
    before_resolve: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The customer writes, the agent claims, answers (or not) and resolves."""
    headers = desk["headers"]
    already = len(await customer.received())
    await customer.says("My parcel has not arrived")
    conversation = await wait_for(lambda: _open_conversation(client, headers, customer.wa_id))
    url = f"/api/v1/conversations/{conversation['id']}"
    assert (await client.post(f"{url}/claim", headers=headers)).status_code == 200
    if reply:
        sent = await client.post(
            f"{url}/messages", json={"text": "It is on its way today."}, headers=headers
        )
        assert sent.status_code == 202
        await customer.wait_for_messages(already + 1)
    if before_resolve is not None:
        await before_resolve(conversation)
    assert (await client.post(f"{url}/resolve", headers=headers)).status_code == 200
    return conversation


async def _open_conversation(
    client: httpx.AsyncClient, headers: dict[str, str], wa_id: str
) -> dict[str, Any] | None:
    response = await client.get("/api/v1/conversations", params={"q": wa_id}, headers=headers)
    items = [c for c in response.json()["items"] if c["status"] != "resolved"]
    return items[0] if items else None


async def survey_of(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int,
                    state: str | None = None) -> dict[str, Any]:  # fmt: skip
    async def probe() -> dict[str, Any] | None:
        response = await client.get(
            f"/api/v1/conversations/{conversation_id}/survey", headers=headers
        )
        if response.status_code != 200:
            return None
        survey: dict[str, Any] = response.json()
        return survey if state is None or survey["state"] == state else None

    found: dict[str, Any] = await wait_for(probe, what=f"survey in state {state}")
    return found


async def notes_of(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> list[str]:
    items = (
        await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    ).json()["items"]
    return [m["text"] for m in items if m["sender"] == "system"]


async def test_a_tap_rates_a_comment_follows_and_nothing_reopens(
    client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    headers = desk["headers"]
    rita = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, rita)
    question = (await rita.wait_for_messages(2))[1]
    interactive = question["body"]["interactive"]
    assert interactive["type"] == "list"
    assert (
        interactive["body"]["text"]
        == "How did we do? Please rate your conversation with Alex Agent."
    )
    rows = rows_of(question)
    assert [r["title"] for r in rows][:2] == ["★★★★★ Excellent", "★★★★ Good"] and len(rows) == 5

    await rita.picks(rows[1]["id"], rows[1]["title"])
    prompt = (await rita.wait_for_messages(3))[2]
    assert prompt["body"]["text"]["body"].startswith("Thank you! Anything you'd like to add?")
    survey = await survey_of(client, headers, conversation["id"], "awaiting_comment")
    assert (
        survey["rating"] == 4
        and survey["agent_id"] == desk["agent"]["id"]
        and survey["late"] is False
    )
    assert survey["team_id"] is not None

    await rita.says("Alex was quick and kind.")
    thanks = (await rita.wait_for_messages(4))[3]
    assert thanks["body"]["text"]["body"] == "Thanks for your feedback!"
    survey = await survey_of(client, headers, conversation["id"], "answered")
    assert survey["comment"] == "Alex was quick and kind."

    all_of_hers = (
        await client.get("/api/v1/conversations", params={"q": rita.wa_id}, headers=headers)
    ).json()["items"]
    assert [(c["id"], c["status"]) for c in all_of_hers] == [(conversation["id"], "resolved")]
    notes = await notes_of(client, headers, conversation["id"])
    assert "CSAT rating: 4/5 ★★★★ for Alex Agent, " + desk["team"] + "." in notes
    assert "CSAT comment: “Alex was quick and kind.”" in notes


async def test_no_answer_leaves_it_unanswered_and_a_new_message_is_a_new_conversation(
    client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    headers = desk["headers"]
    noor = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, noor)
    await noor.wait_for_messages(2)
    await noor.says("Another question about a different order")
    newer = await wait_for(lambda: _open_conversation(client, headers, noor.wa_id))
    assert newer["id"] != conversation["id"] and newer["status"] == "queued"
    survey = await survey_of(client, headers, conversation["id"], "sent")
    assert survey["rating"] is None and survey["answered_at"] is None


async def test_a_late_tap_is_kept_as_a_late_answer(
    ctx: AppContext, client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    headers = desk["headers"]
    lara = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, lara)
    question = (await lara.wait_for_messages(2))[1]
    await survey_of(client, headers, conversation["id"], "sent")
    async with ctx.sessions() as session:
        survey = (
            await session.execute(
                select(Survey).where(col(Survey.conversation_id) == conversation["id"])
            )
        ).scalar_one()
        survey.sent_at = utcnow() - timedelta(hours=30)
        await session.commit()
    await lara.picks(rows_of(question)[4]["id"], rows_of(question)[4]["title"])
    answered = await survey_of(client, headers, conversation["id"], "awaiting_comment")
    assert answered["rating"] == 1 and answered["late"] is True
    assert await _open_conversation(client, headers, lara.wa_id) is None


async def test_skips_are_recorded_with_their_reason(
    ctx: AppContext, client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    headers = desk["headers"]
    # closed without a human: nobody wrote to the customer
    silent = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, silent, reply=False)
    survey = await survey_of(client, headers, conversation["id"], "skipped")
    assert survey["skip_reason"] == "the conversation was closed without a human"
    assert "CSAT survey not sent: the conversation was closed without a human." in await notes_of(
        client, headers, conversation["id"])  # fmt: skip

    # opted out (STOP in the open conversation) before resolution
    olga = new_customer(client, desk)

    async def stop(_: dict[str, Any]) -> None:
        await olga.says("STOP")
        await wait_for(lambda: _opted_out(ctx, olga.wa_id))

    conversation = await served_and_resolved(client, desk, olga, before_resolve=stop)
    survey = await survey_of(client, headers, conversation["id"], "skipped")
    assert survey["skip_reason"] == "the contact opted out"

    # one survey a day: the second conversation's survey is skipped
    tom = new_customer(client, desk)
    first = await served_and_resolved(client, desk, tom)
    await survey_of(client, headers, first["id"], "sent")
    second = await served_and_resolved(client, desk, tom)
    survey = await survey_of(client, headers, second["id"], "skipped")
    assert survey["skip_reason"] == "the contact got a survey in the last 24 hours"


async def test_outside_the_window_a_template_is_sent_else_it_is_skipped(
    ctx: AppContext, client: httpx.AsyncClient, desk: dict[str, Any], make_agent: Any
) -> None:
    headers = desk["headers"]

    async def close_window(conversation: dict[str, Any]) -> None:
        async with ctx.sessions() as session:
            contact = await session.get(Contact, conversation["contact"]["id"])
            assert contact is not None
            contact.last_inbound_at = utcnow() - timedelta(hours=25)
            await session.commit()

    wes = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, wes, before_resolve=close_window)
    survey = await survey_of(client, headers, conversation["id"], "skipped")
    assert (
        survey["skip_reason"] == "the 24-hour window is closed and no survey template is configured"
    )

    admin = await login(client, await make_agent("admin", teams=[]))
    config = await client.put(f"/api/v1/channels/{desk['id']}/survey", headers=admin, json={
        "delay_seconds": 0.3, "template_name": "csat_followup", "template_language": "en",
    })  # fmt: skip
    assert config.status_code == 200, config.text
    vic = new_customer(client, desk)
    conversation = await served_and_resolved(client, desk, vic, before_resolve=close_window)
    await survey_of(client, headers, conversation["id"], "sent")
    template = (await vic.wait_for_messages(2))[1]
    assert template["body"]["type"] == "template"
    assert template["body"]["template"]["name"] == "csat_followup"


async def test_at_night_in_the_contacts_zone_the_survey_waits_for_eight_oclock(
    ctx: AppContext, client: httpx.AsyncClient, desk: dict[str, Any]
) -> None:
    from backend.bots.locale import zone_of

    headers = desk["headers"]
    nina = new_customer(client, desk, NIGHT)
    conversation = await served_and_resolved(client, desk, nina)
    survey = await survey_of(client, headers, conversation["id"], "scheduled")
    await wait_for(lambda: _deferred(client, headers, conversation["id"]))
    survey = await survey_of(client, headers, conversation["id"])
    zone = zone_of(nina.wa_id)
    from datetime import datetime

    morning = datetime.fromisoformat(survey["scheduled_for"]).astimezone(zone)
    assert (morning.hour, morning.minute) == (8, 0) and survey["state"] == "scheduled"
    assert morning - utcnow() < timedelta(hours=9)
    assert any(n.startswith("CSAT survey deferred to") and zone.key in n
               for n in await notes_of(client, headers, conversation["id"]))  # fmt: skip
    await asyncio.sleep(0.5)
    assert len(await nina.received()) == 1  # only the agent's answer


async def _deferred(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> bool:
    response = await client.get(f"/api/v1/conversations/{conversation_id}/survey", headers=headers)
    return response.status_code == 200 and response.json()["deferred"] is True


async def _opted_out(ctx: AppContext, wa_id: str) -> bool:
    async with ctx.sessions() as session:
        contact = (
            await session.execute(select(Contact).where(col(Contact.wa_id) == wa_id))
        ).scalar_one()
        return contact.opted_out
