"""The admin console in Chromium: a desk set up from the browser.

An agent created here signs in and is deactivated while their inbox is open (the socket closes,
sign-in is refused, their chat goes back to the queue); a team gets members and business hours
(an overlap is refused beside its day); a channel is added and its connection tested against a
recording stand-in of the Graph API; a bot flow is edited with an error shown on its line, fixed,
activated, and the sandbox phone gets the new greeting; a quick reply and an SLA policy are made
and used; what one admin creates or edits shows on another admin's open page without a reload.
Every page passes axe-core, also at 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from backend.agents.services import get_or_create_team
from backend.bots.loading import DEMO_FLOW
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.helpers import bearer, claim, conversation_of, customer_says, sign_in
from tests.conftest import unique
from tests.support.bots import DEMO_TEAMS, make_channel
from tests.support.graph_standin import TOKEN, GraphStandin, start_graph_standin
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id

FLOW = """name: Admin test flow
start: hello
nodes:
  hello:
    type: message
    text: "Welcome to the admin-made bot!"
    next: person
  person:
    type: handoff
    team: General
    topic: Admin test
"""


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    standin = start_graph_standin()
    yield standin
    standin.stop()


async def go_to(page: Page, heading: str) -> None:
    """Another page of the console, by its button in the Admin pages navigation."""
    await (
        page.get_by_role("navigation", name="Admin pages")
        .get_by_role("button", name=heading, exact=True)
        .click()
    )
    await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


async def open_admin(page: Page, admin: dict[str, Any], heading: str) -> None:
    await sign_in(page, admin)
    await page.get_by_role("button", name="Admin").click()
    await expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible()
    if heading != "Agents":
        await go_to(page, heading)


async def test_an_agent_created_here_signs_in_and_is_deactivated_while_working(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    admin = await make_agent("admin", name="Ada Console")
    page = await new_page("admin")
    await open_admin(page, admin, "Agents")
    form = page.get_by_role("form", name="New agent")
    email = f"{unique('kim')}@example.test"
    await form.get_by_label("Name", exact=True).fill("Kim Newhire")
    await form.get_by_label("Email address").fill(email)
    await form.get_by_role("checkbox", name="General", exact=True).check()
    await form.get_by_label("Initial password").fill("short")
    await form.get_by_role("button", name="Create agent").click()
    # The API's reason shows beside its field, linked for assistive technology.
    await expect(form.get_by_label("Initial password")).to_have_accessible_description(
        re.compile("at least 8 characters")
    )
    await form.get_by_label("Initial password").fill("kim-password-1")
    await form.get_by_role("button", name="Create agent").click()
    await expect(
        page.get_by_role("status").filter(has_text="Kim Newhire can now sign in")
    ).to_be_visible()
    agents = page.get_by_role("list", name="Agents list")
    await expect(agents.get_by_role("listitem").filter(has_text=email)).to_be_visible()
    await assert_accessible(page, at_390=True)

    # Kim signs in, and holds a customer's chat.
    kim = {"email": email, "password": "kim-password-1"}
    kim_page = await new_page("kim")
    await sign_in(kim_page, kim)
    wa_id, customer = new_wa_id(), f"Cleo {unique('c')}"
    await customer_says(client, wa_id, customer, "Is my order on its way?")
    kim_headers = await bearer(client, kim)
    conversation = await conversation_of(client, kim_headers, wa_id)
    await claim(client, kim_headers, conversation["id"])

    # Deactivated while her inbox is open: her page is signed out at once, sign-in is refused,
    # and the chat is back in its queue.
    await agents.get_by_role("button", name="Deactivate Kim Newhire").click()
    await expect(agents.get_by_role("listitem").filter(has_text=email)).to_contain_text(
        "Deactivated"
    )
    await expect(kim_page.get_by_role("button", name="Sign in")).to_be_visible()
    await kim_page.get_by_label("Email").fill(email)
    await kim_page.get_by_label("Password").fill("kim-password-1")
    await kim_page.get_by_role("button", name="Sign in").click()
    await expect(kim_page.get_by_role("alert")).to_have_text("Invalid email or password.")
    admin_headers = await bearer(client, admin)

    async def requeued() -> bool:
        found = await conversation_of(client, admin_headers, wa_id)
        return found["status"] == "queued" and found["assignee"] is None

    await eventually(requeued, what="Kim's chat back in the queue")


async def test_a_team_gets_members_and_business_hours(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    admin = await make_agent("admin", name="Ada Teams")
    member = await make_agent("agent", name=f"Mo {unique('m')}", teams=[])
    page = await new_page("admin")
    await open_admin(page, admin, "Teams")
    team = unique("Returns")
    await page.get_by_label("New team name").fill(team)
    await page.get_by_role("button", name="Create team").click()
    await expect(page.get_by_role("heading", name=f"Team {team}")).to_be_visible()

    members = page.get_by_role("form", name=f"Members of {team}")
    await members.get_by_role("checkbox", name=member["name"]).check()
    await members.get_by_role("button", name="Save team").click()
    await expect(members.get_by_role("status")).to_have_text("Team saved.")
    me = await client.get("/api/v1/auth/me", headers=await bearer(client, member))
    assert me.json()["teams"] == [team]

    hours = page.get_by_role("form", name=f"Business hours of {team}")
    await hours.get_by_label("Time zone").fill("Europe/Berlin")
    await hours.get_by_label("Wednesday").fill("09:00-13:00, 12:00-18:00")
    await hours.get_by_role("button", name="Save hours").click()
    await expect(hours.get_by_label("Wednesday")).to_have_accessible_description(
        re.compile("12:00-18:00 overlaps the range ending 13:00")
    )
    await assert_accessible(page, at_390=True)
    await hours.get_by_label("Wednesday").fill("09:00-12:00, 13:00-18:00")
    await hours.get_by_label("Holidays").fill("2026-12-24, 2026-12-25")
    await hours.get_by_role("button", name="Save hours").click()
    await expect(hours.get_by_role("status")).to_have_text("Business hours saved.")
    await expect(hours.get_by_label("Wednesday")).not_to_have_accessible_description(
        re.compile("overlaps")
    )
    headers = await bearer(client, admin)
    team_id = next(
        t["id"] for t in (await client.get("/api/v1/teams", headers=headers)).json()["items"]
        if t["name"] == team
    )  # fmt: skip
    saved = (await client.get(f"/api/v1/teams/{team_id}/hours", headers=headers)).json()
    assert saved["weekly"] == {"wed": [["09:00", "12:00"], ["13:00", "18:00"]]}
    assert saved["holidays"] == ["2026-12-24", "2026-12-25"]


async def test_a_channel_is_added_and_its_connection_tested(
    new_page: NewPage, make_agent: Any, graph: GraphStandin
) -> None:
    number = "1555" + new_wa_id()[-9:]
    graph.numbers[number] = {
        "id": number, "display_phone_number": "+1 555-0199", "verified_name": "Acme Shoes",
        "status": "CONNECTED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_1K",
    }  # fmt: skip
    admin = await make_agent("admin", name="Ada Channels")
    page = await new_page("admin")
    await open_admin(page, admin, "Channels")
    second = unique("Acme")
    form = page.get_by_role("form", name="Add a channel")
    await form.get_by_label("Channel name").fill(second)
    await form.get_by_label("Phone number id").fill(number)
    await form.get_by_label("Access token").fill(TOKEN)
    await form.get_by_label("App secret").fill("acme-app-secret")
    await form.get_by_label("API base URL").fill(graph.base_url)
    await form.get_by_role("button", name="Add channel").click()
    await expect(
        page.get_by_role("status").filter(has_text=f"Channel {second} added")
    ).to_be_visible()
    channels = page.get_by_role("list", name="Channels list")
    tested = channels.get_by_role("listitem").filter(has_text=second)
    await expect(tested.get_by_label("Webhook URL")).to_have_value(
        re.compile(r"/webhooks/whatsapp$")
    )
    verify = await tested.get_by_label("Verify token", exact=True).input_value()
    assert len(verify) >= 20  # generated, to paste into Meta's dashboard
    await tested.get_by_role("button", name=f"Test connection of {second}").click()
    await expect(tested.get_by_role("status")).to_have_text(
        "Connected: Acme Shoes (+1 555-0199), quality GREEN, messaging limit TIER_1K"
    )
    # A new access token is tested first: one Meta refuses never replaces the working one.
    await tested.get_by_text("Default team and secrets").click()
    await tested.get_by_label("New access token").fill("a-revoked-token")
    await tested.get_by_role("button", name="Rotate secrets").click()
    await expect(tested.get_by_role("alert")).to_contain_text(
        "the new access token was refused, the old one is kept: Invalid OAuth access token"
    )
    await tested.get_by_role("button", name=f"Test connection of {second}").click()
    await expect(tested.get_by_role("status")).to_contain_text("Connected: Acme Shoes")
    await tested.get_by_label("New access token").fill(TOKEN)
    await tested.get_by_label("New app secret").fill("acme-app-secret-2")
    await tested.get_by_role("button", name="Rotate secrets").click()
    await expect(tested.get_by_text("The old app secret still verifies webhooks")).to_be_visible()
    await tested.get_by_role("button", name=f"Test connection of {second}").click()
    await expect(tested.get_by_role("status")).to_contain_text("Connected: Acme Shoes")
    asked = [r for r in graph.requests if r.get("number_id") == number]
    assert asked and asked[-1]["authorization"] == f"Bearer {TOKEN}"
    assert {"quality_rating", "messaging_limit_tier", "verified_name"} <= set(
        asked[-1]["fields"].split(",")
    )
    await assert_accessible(page, at_390=True)


async def test_a_bot_flow_is_fixed_on_its_line_activated_and_greets_on_the_phone(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, ctx: Any, worker: LiveWorker
) -> None:
    channel = await make_channel(ctx, "General")
    admin = await make_agent("admin", name="Ada Flows")
    page = await new_page("admin")
    await open_admin(page, admin, "Bot flows")
    await page.get_by_label("Channel", exact=True).select_option(value=str(channel["id"]))
    editor = page.get_by_label("Flow YAML")
    await editor.fill(FLOW.replace("next: person", "next: nobody"))
    problems = page.get_by_role("list", name="Problems")
    await expect(problems).to_have_text("Line 7: node 'hello': 'next' names no node: 'nobody'")
    await expect(page.locator(".flow-gutter .has-error")).to_have_text("7")
    await assert_accessible(page)
    await editor.fill(FLOW)
    await expect(page.get_by_role("status").filter(has_text="No problems.")).to_be_visible()
    await expect(page.get_by_role("region", name="Nodes")).to_contain_text("hello")
    await page.get_by_role("button", name="Save and activate").click()
    await expect(page.get_by_role("status").filter(has_text="Version 1 is active.")).to_be_visible()
    versions = page.get_by_role("list", name="Versions")
    await expect(versions).to_contain_text("by Ada Flows")

    wa_id = new_wa_id()
    phone = await new_page("phone")
    await phone.goto(
        f"/sandbox?wa_id={wa_id}&name=Pat+Phone&phone_number_id={channel['phone_number_id']}"
    )
    box = phone.get_by_label("Message", exact=True)
    await box.fill("hello?")
    await box.press("Enter")
    await expect(phone.get_by_role("log", name="Messages")).to_contain_text(
        "Welcome to the admin-made bot!", timeout=10_000
    )


async def test_the_demo_flow_is_drawn_as_a_diagram_that_follows_the_yaml(
    new_page: NewPage, make_agent: Any, ctx: Any
) -> None:
    """The nodes as boxes and the ways between them as labelled arrows, redrawn as one types; at
    390 px the diagram scrolls inside its own focusable region, not the page."""
    channel = await make_channel(ctx, "General")
    async with ctx.sessions() as session:  # the teams the demo flow hands off to
        for name in DEMO_TEAMS:
            await get_or_create_team(session, name)
        await session.commit()
    admin = await make_agent("admin", name="Ada Diagram")
    page = await new_page("admin")
    await open_admin(page, admin, "Bot flows")
    await page.get_by_label("Channel", exact=True).select_option(value=str(channel["id"]))
    editor = page.get_by_label("Flow YAML")
    demo = DEMO_FLOW.read_text(encoding="utf-8")
    await editor.fill(demo)
    diagram = page.get_by_role("region", name="Flow diagram")
    for text in (
        "greeting",
        "order_number",
        "orders_handoff",
        "handoff · to Orders",
        "Talk to a person",
    ):
        await expect(diagram).to_contain_text(text)
    picture = diagram.get_by_role("img")
    await expect(picture).to_have_accessible_name(re.compile(
        r"topic \(list\) leads to order_number \(Orders · says order, delivery, parcel\);"))  # fmt: skip
    await assert_accessible(page, at_390=True)

    # Edited: a node renamed is redrawn under its new name with the arrow that leads to it.
    await editor.fill(demo.replace("person_handoff", "human_handoff"))
    await expect(diagram).to_contain_text("human_handoff")
    await expect(diagram).not_to_contain_text("person_handoff")
    await expect(picture).to_have_accessible_name(re.compile(r"human_handoff \(Talk to a person\)"))

    await page.set_viewport_size({"width": 390, "height": 800})
    wide = await diagram.evaluate("el => el.scrollWidth > el.clientWidth")
    assert wide, "the demo flow is wider than a phone: its diagram scrolls in its region"
    # It opens on the start node (the top row's middle would be off to the right).
    await editor.fill("")
    await editor.fill(demo)
    start = await diagram.locator(".flow-node.start").bounding_box()
    region = await diagram.bounding_box()
    assert start and region and region["x"] <= start["x"] <= region["x"] + region["width"] - 100
    await diagram.focus()
    await expect(diagram).to_be_focused()
    before = await diagram.evaluate("el => el.scrollLeft")
    await page.keyboard.press("ArrowRight")
    await eventually(lambda: diagram.evaluate(f"el => el.scrollLeft > {before}"), 5, "scrolled")


async def test_a_quick_reply_and_an_sla_policy_are_made_and_used(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient, worker: LiveWorker
) -> None:
    team = unique("Care")
    admin = await make_agent("admin", name="Ada Settings", teams=[team])
    page = await new_page("admin")
    await open_admin(page, admin, "Quick replies")
    shortcut = unique("ship").lower()
    form = page.get_by_role("form", name="New quick reply")
    await form.get_by_label("Shortcut").fill("Not Allowed!")
    await form.get_by_label("Title").fill("Shipping times")
    await form.get_by_label("Text", exact=True).fill("We ship within 2 working days.")
    await form.get_by_role("button", name="Save quick reply").click()
    await expect(form.get_by_label("Shortcut")).to_have_accessible_description(
        re.compile("pattern|match")
    )
    await form.get_by_label("Shortcut").fill(shortcut)
    await form.get_by_role("button", name="Save quick reply").click()
    await expect(page.get_by_role("list", name="Quick replies list")).to_contain_text(
        f"/{shortcut}"
    )
    await assert_accessible(page, at_390=True)

    await (
        page.get_by_role("navigation", name="Admin pages")
        .get_by_role("button", name="SLA policies")
        .click()
    )
    policy = page.get_by_role("form", name="New SLA policy")
    await policy.get_by_label("Team").select_option(label=team)
    await policy.get_by_label("First response (minutes)").fill("3")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(page.get_by_role("list", name="SLA policies list")).to_contain_text(team)
    await expect(page.get_by_role("list", name="SLA policies list")).to_contain_text(
        "first response 3 min"
    )
    await assert_accessible(page, at_390=True)

    # Used: an agent of the team types the shortcut; the team's new chat runs a 3-minute clock.
    agent = await make_agent("agent", name=f"Uma {unique('u')}", teams=[team])
    wa_id, customer = new_wa_id(), f"Ravi {unique('r')}"
    await customer_says(client, wa_id, customer, "When will it ship?")
    lead_headers = await bearer(client, admin)
    conversation = await conversation_of(client, lead_headers, wa_id)
    moved = await client.post(f"/api/v1/conversations/{conversation['id']}/transfer",
                              json={"team": team}, headers=lead_headers)  # fmt: skip
    assert moved.status_code == 200, moved.text
    agent_headers = await bearer(client, agent)
    await claim(client, agent_headers, conversation["id"])

    async def clock() -> Any:
        response = await client.get(
            f"/api/v1/conversations/{conversation['id']}", headers=agent_headers
        )
        clocks = (response.json().get("sla") or {}).get("clocks") or []
        return [c for c in clocks if c.get("kind") == "first_response"]

    first = (await eventually(clock, what="the first-response clock of the new policy"))[0]
    assert first["target_seconds"] == 180
    agent_page = await new_page("agent")
    await sign_in(agent_page, agent)
    await agent_page.get_by_role("list", name="Conversations").get_by_text(customer).click()
    box = agent_page.get_by_role("textbox", name="Message")
    await box.fill(f"/{shortcut}")
    await expect(agent_page.get_by_text("Shipping times")).to_be_visible()
    await box.press("Enter")
    await expect(box).to_have_value("We ship within 2 working days.")


async def test_one_admins_change_shows_on_anothers_open_page(
    new_page: NewPage, make_agent: Any
) -> None:
    """Two admins with the console open: what one creates or edits (a quick reply, an SLA
    policy, a team's hours) appears on the other's page at once, with no reload (the
    configuration events, through the inbox's one socket)."""
    team = unique("Live")
    ada = await make_agent("admin", name="Ada Live", teams=[team])
    bo = await make_agent("admin", name="Bo Watching", teams=[team])
    editor, watcher = await new_page("ada"), await new_page("bo")
    await open_admin(editor, ada, "Quick replies")
    await open_admin(watcher, bo, "Quick replies")
    watched = watcher.get_by_role("list", name="Quick replies list")

    shortcut = unique("live").lower()
    form = editor.get_by_role("form", name="New quick reply")
    await form.get_by_label("Shortcut").fill(shortcut)
    await form.get_by_label("Title").fill("Opening hours")
    await form.get_by_label("Text", exact=True).fill("We are open 9 to 5.")
    await form.get_by_role("button", name="Save quick reply").click()
    row = watched.get_by_role("listitem").filter(has_text=f"/{shortcut}")
    await expect(row).to_contain_text("Opening hours")
    await editor.get_by_role("button", name=f"Edit /{shortcut}").click()
    edit = editor.get_by_role("form", name="Edit quick reply")
    await edit.get_by_label("Title").fill("Opening times")
    await edit.get_by_role("button", name="Save quick reply").click()
    await expect(row).to_contain_text("Opening times")
    await assert_accessible(watcher, at_390=True)

    await go_to(editor, "SLA policies")
    await go_to(watcher, "SLA policies")
    policy = editor.get_by_role("form", name="New SLA policy")
    await policy.get_by_label("Team").select_option(label=team)
    await policy.get_by_label("First response (minutes)").fill("4")
    await policy.get_by_role("button", name="Save policy").click()
    seen = watcher.get_by_role("list", name="SLA policies list").get_by_role("listitem")
    await expect(seen.filter(has_text=team)).to_contain_text("first response 4 min")
    await editor.get_by_role("button", name=f"Edit the policy of {team}").click()
    await editor.get_by_label("First response (minutes)").fill("6")
    await editor.get_by_role("button", name="Save policy").click()
    await expect(seen.filter(has_text=team)).to_contain_text("first response 6 min")
    await assert_accessible(watcher)

    # A team's hours and holidays, set by one, show in the other's open editor of that team.
    await go_to(editor, "Teams")
    await go_to(watcher, "Teams")
    for page in (editor, watcher):
        await page.get_by_role("button", name=f"Open team {team}").click()
    hours = editor.get_by_role("form", name=f"Business hours of {team}")
    await hours.get_by_label("Time zone").fill("Europe/Lisbon")
    await hours.get_by_label("Friday").fill("10:00-16:00")
    await hours.get_by_label("Holidays").fill("2026-12-31")
    await hours.get_by_role("button", name="Save hours").click()
    shown = watcher.get_by_role("form", name=f"Business hours of {team}")
    await expect(shown.get_by_label("Holidays")).to_have_value("2026-12-31")
    await expect(shown.get_by_label("Friday")).to_have_value("10:00-16:00")
    await expect(shown.get_by_label("Time zone")).to_have_value("Europe/Lisbon")

    # The audit log keeps up too, with what changed.
    await go_to(watcher, "Audit log")
    await go_to(editor, "Quick replies")
    await editor.get_by_role("button", name=f"Delete /{shortcut}").click()
    entries = watcher.get_by_role("list", name="Audit entries").get_by_role("listitem")
    deleted = entries.filter(has_text="quick_reply.deleted").filter(has_text=shortcut).first
    await expect(deleted).to_contain_text(ada["email"])
    updated = entries.filter(has_text="sla_policy.updated").first
    await expect(updated).to_contain_text("first_response_seconds: 240 → 360")
    await assert_accessible(watcher, at_390=True)


async def test_api_keys_webhooks_and_templates_pages(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    admin = await make_agent("admin", name="Ada Integrations")
    page = await new_page("admin")
    await open_admin(page, admin, "API keys")
    key_name = unique("ERP")
    form = page.get_by_role("form", name="New API key")
    await form.get_by_label("Key name").fill(key_name)
    await form.get_by_role("checkbox", name="webhooks:manage").check()
    await form.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("status").filter(has_text="shown only now")
    key = (await shown.locator("code").inner_text()).strip()
    assert key.startswith("sbk_")
    as_key = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/webhook-endpoints", headers=as_key)).status_code == 200
    await assert_accessible(page, at_390=True)
    await (
        page.get_by_role("list", name="API keys list")
        .get_by_role("button", name=f"Revoke {key_name}")
        .click()
    )
    await expect(
        page.get_by_role("list", name="API keys list")
        .get_by_role("listitem")
        .filter(has_text=key_name)
    ).to_contain_text("revoked")
    assert (await client.get("/api/v1/webhook-endpoints", headers=as_key)).status_code == 401

    nav = page.get_by_role("navigation", name="Admin pages")
    await nav.get_by_role("button", name="Webhooks").click()
    hook = page.get_by_role("form", name="New webhook")
    url = f"http://127.0.0.1:9/{unique('hook')}"
    await hook.get_by_label("URL").fill(url)
    await hook.get_by_label("Events").fill("conversation.resolved, message.created")
    await hook.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_role("status").filter(has_text="signing secret")
    assert (await secret.locator("code").inner_text()).startswith("whsec_")
    row = (
        page.get_by_role("list", name="Webhooks list").get_by_role("listitem").filter(has_text=url)
    )
    await expect(row).to_contain_text("conversation.resolved, message.created")
    await assert_accessible(page, at_390=True)
    await row.get_by_role("button", name=f"Delete {url}").click()
    await expect(row).to_have_count(0)

    await nav.get_by_role("button", name="Templates").click()
    await expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
    await expect(page.get_by_role("list", name="Templates list")).to_be_attached()
    await assert_accessible(page, at_390=True)

    # The audit log shows what was just done, with who did it.
    await nav.get_by_role("button", name="Audit log").click()
    entries = page.get_by_role("list", name="Audit entries")
    revoked = entries.get_by_role("listitem").filter(has_text="api_key.revoked").first
    await expect(revoked).to_contain_text(admin["email"])
    await assert_accessible(page, at_390=True)


async def test_an_agent_changes_their_own_name_and_password(
    new_page: NewPage, make_agent: Any, client: httpx.AsyncClient
) -> None:
    agent = await make_agent("agent", name="Nell Original")
    page = await new_page("agent")
    await sign_in(page, agent)
    await page.get_by_role("button", name="Account", exact=True).click()
    dialog = page.get_by_role("dialog", name="Your account")
    await dialog.get_by_label("Your name").fill("Nell Renamed")
    await dialog.get_by_role("button", name="Save name").click()
    await expect(dialog.get_by_role("status")).to_have_text("Your name is saved.")
    await dialog.get_by_label("Current password").fill("not-my-password")
    await dialog.get_by_label("New password").fill("nell-brand-new-passphrase")
    await dialog.get_by_role("button", name="Change password").click()
    await expect(dialog.get_by_label("Current password")).to_have_accessible_description(
        re.compile("not right")
    )
    await assert_accessible(page, at_390=True)
    await dialog.get_by_label("Current password").fill(agent["password"])
    await dialog.get_by_role("button", name="Change password").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Password changed.")
    # This session goes on; the new password is the one that signs in.
    me = await page.evaluate("async () => (await fetch('/api/v1/auth/me')).json()")
    assert me["name"] == "Nell Renamed"
    old = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert old.status_code == 401
    await bearer(client, {**agent, "password": "nell-brand-new-passphrase"})


async def test_a_new_agent_sets_their_password_from_a_one_time_link(
    new_page: NewPage, make_agent: Any
) -> None:
    admin = await make_agent("admin", name="Ada Links")
    agent = await make_agent("agent", name=f"Lia {unique('l')}")
    page = await new_page("admin")
    await open_admin(page, admin, "Agents")
    await (
        page.get_by_role("list", name="Agents list")
        .get_by_role("button", name=f"Set-password link for {agent['name']}")
        .click()
    )
    notice = page.get_by_role("status").filter(has_text="one-time link")
    url = re.search(r"https?://\S+#set-password=\S+", await notice.inner_text())
    assert url is not None
    lia = await new_page("lia")
    await lia.goto(url.group(0))
    form = lia.get_by_role("form", name="Choose your password")
    await form.get_by_label("New password").fill("short")
    await form.get_by_role("button", name="Set password").click()
    await expect(form.get_by_label("New password")).to_have_accessible_description(
        re.compile("at least 8")
    )
    await assert_accessible(lia, at_390=True)
    await form.get_by_label("New password").fill("lia-chooses-a-long-passphrase")
    await form.get_by_role("button", name="Set password").click()
    await expect(
        lia.get_by_text(f"Your password is set. Sign in as {agent['email']}.")
    ).to_be_visible()
    await sign_in(lia, {**agent, "password": "lia-chooses-a-long-passphrase"})
