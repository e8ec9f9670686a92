"""The lead's dashboard: the wallboard moves live as a conversation is queued and claimed, and
the reports draw their charts, whose bars list the conversations behind them."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import bearer, claim, conversation_of, customer_says, sign_in
from tests.conftest import unique
from tests.support.servers import LiveServer, LiveWorker
from tests.support.whatsapp import new_wa_id

LIVE = 2_000  # ms


async def test_the_wallboard_moves_live_and_the_reports_chart_the_period(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, server: LiveServer,
    worker: LiveWorker,
) -> None:  # fmt: skip
    team = unique("Wallboard")
    lead = await make_agent("lead", name="Lena Lead", teams=[team])
    agent = await make_agent("agent", name="Omar Agent", teams=[team])
    page = await new_page("lead")
    await sign_in(page, lead)
    await page.get_by_role("button", name="Dashboard").click()
    wallboard = page.get_by_role("region", name="Wallboard")
    row = wallboard.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=team, exact=True)
    )
    await expect(row).to_be_visible()
    await expect(row.locator("td.queued")).to_have_text("0")
    await expect(row.locator("td.assigned")).to_have_text("0")

    # A customer writes; a lead moves the conversation into the team's queue.
    wa_id, customer = new_wa_id(), "Priya Raman"
    await customer_says(client, wa_id, customer, "Where is my refund?")
    lead_headers = await bearer(client, lead)
    conversation = await conversation_of(client, lead_headers, wa_id)
    moved = await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer", json={"team": team},
        headers=lead_headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    await expect(row.locator("td.queued")).to_have_text("1", timeout=LIVE)
    await expect(row.locator("td.oldest")).to_have_text(re.compile(r"^\d+s$"))

    # An agent claims it: the queue empties and the assigned count rises, live.
    await claim(client, await bearer(client, agent), conversation["id"])
    await expect(row.locator("td.queued")).to_have_text("0", timeout=LIVE)
    await expect(row.locator("td.assigned")).to_have_text("1", timeout=LIVE)

    # The reports for the last 24 hours of this team draw their charts.
    reports = page.get_by_role("region", name="Reports")
    await reports.get_by_label("Period", exact=True).select_option(label="Last 24 hours")
    await reports.get_by_label("Team", exact=True).select_option(label=team)
    chart = reports.get_by_role("img", name="Conversations by hour chart")
    await expect(chart).to_be_visible()
    drawn = await chart.evaluate(
        "(canvas) => { const data = canvas.getContext('2d').getImageData(0, 0, canvas.width,"
        " canvas.height).data; for (let i = 3; i < data.length; i += 4) if (data[i]) return true;"
        " return false; }"
    )
    assert drawn, "the chart canvas is blank"
    bars = reports.get_by_role("list", name="Conversations by hour bars")
    await expect(bars.get_by_role("button")).to_have_count(1)
    await bars.get_by_role("button").click()
    behind = page.get_by_role("region", name="Conversations behind the bar")
    await expect(behind.get_by_role("button", name=customer)).to_be_visible()
    export = reports.get_by_role("link", name="Export CSV")
    assert "team_id=" in (await export.get_attribute("href") or "")
    billing = reports.get_by_role("region", name="Billable messages")
    await expect(billing).to_contain_text("No priced messages in this period.")
    await assert_accessible(page, at_390=True)  # with charts, the wallboard and the bar's list

    await page.get_by_role("button", name="Inbox").click()
    await expect(page.get_by_role("list", name="Conversations")).to_be_visible()
