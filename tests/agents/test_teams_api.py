"""The teams API: create, rename, members, business hours (refused with the field named when
ranges overlap), and who may change what."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agents.test_agents_api import field_errors
from tests.conftest import login, unique


async def test_an_admin_creates_renames_and_staffs_a_team(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    name = unique("Wholesale")
    created = await client.post("/api/v1/teams", json={"name": f"  {name} "}, headers=admin)
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["name"] == name and team["members"] == []
    twin = await client.post("/api/v1/teams", json={"name": name.upper()}, headers=admin)
    assert twin.status_code == 409 and "name" in field_errors(twin)

    agent = await make_agent("agent", teams=[])
    staffed = await client.put(
        f"/api/v1/teams/{team['id']}/members", json={"agent_ids": [agent["id"]]}, headers=admin
    )
    assert staffed.status_code == 200, staffed.text
    assert [m["id"] for m in staffed.json()["members"]] == [agent["id"]]
    me = await client.get("/api/v1/auth/me", headers=await login(client, agent))
    assert me.json()["teams"] == [name]

    renamed = await client.patch(
        f"/api/v1/teams/{team['id']}", json={"name": name + " EU"}, headers=admin
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == name + " EU"
    me = await client.get("/api/v1/auth/me", headers=await login(client, agent))
    assert me.json()["teams"] == [name + " EU"]

    unknown = await client.put(
        f"/api/v1/teams/{team['id']}/members", json={"agent_ids": [agent["id"], 987654]},
        headers=admin,
    )  # fmt: skip
    assert unknown.status_code == 422 and "agent_ids" in field_errors(unknown)
    kept = await client.get(f"/api/v1/teams/{team['id']}", headers=admin)
    assert [m["id"] for m in kept.json()["members"]] == [agent["id"]]  # nothing half-done


async def test_the_default_channels_team_keeps_its_name(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    admin = await login(client, await make_agent("admin"))
    teams = (await client.get("/api/v1/teams", headers=admin)).json()["items"]
    general = next(t for t in teams if t["name"] == "General")
    refused = await client.patch(
        f"/api/v1/teams/{general['id']}", json={"name": "Everyone"}, headers=admin
    )
    assert refused.status_code == 409, refused.text
    assert "WHATSAPP_DEFAULT_TEAM" in field_errors(refused)["name"]


async def test_leads_manage_only_their_teams_and_never_rename(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    mine, other = unique("Mine"), unique("Other")
    await make_agent("admin", teams=[mine, other])  # makes both teams
    lead = await make_agent("lead", teams=[mine])
    headers = await login(client, lead)
    teams = {
        t["name"]: t["id"]
        for t in (await client.get("/api/v1/teams", headers=headers)).json()["items"]
    }
    helper = await make_agent("agent", teams=[])
    ok = await client.put(
        f"/api/v1/teams/{teams[mine]}/members", json={"agent_ids": [lead["id"], helper["id"]]},
        headers=headers,
    )  # fmt: skip
    assert ok.status_code == 200, ok.text
    foreign = await client.put(
        f"/api/v1/teams/{teams[other]}/members", json={"agent_ids": [helper["id"]]},
        headers=headers,
    )  # fmt: skip
    assert foreign.status_code == 403
    rename = await client.patch(
        f"/api/v1/teams/{teams[mine]}", json={"name": "Ours"}, headers=headers
    )
    assert rename.status_code == 403
    agent_headers = await login(client, helper)
    assert (
        await client.post("/api/v1/teams", json={"name": unique("x")}, headers=agent_headers)
    ).status_code == 403


async def test_business_hours_overlap_is_refused_with_the_field_named(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    team = unique("Hours")
    admin = await login(client, await make_agent("admin", teams=[team]))
    team_id = next(
        t["id"] for t in (await client.get("/api/v1/teams", headers=admin)).json()["items"]
        if t["name"] == team
    )  # fmt: skip
    overlap = await client.put(
        f"/api/v1/teams/{team_id}/hours", headers=admin,
        json={"timezone": "Europe/Lisbon",
              "weekly": {"mon": [["09:00", "13:00"]], "wed": [["09:00", "13:00"], ["12:00", "18:00"]]}},
    )  # fmt: skip
    assert overlap.status_code == 422, overlap.text
    assert list(field_errors(overlap)) == ["weekly.wed"]
    assert overlap.json()["detail"].startswith("weekly.wed: 12:00-18:00 overlaps")
    assert (await client.get(f"/api/v1/teams/{team_id}/hours", headers=admin)).status_code == 404

    bad_zone = await client.put(
        f"/api/v1/teams/{team_id}/hours", headers=admin, json={"timezone": "Europe/Atlantis"}
    )
    assert bad_zone.status_code == 422 and "timezone" in field_errors(bad_zone)

    saved = await client.put(
        f"/api/v1/teams/{team_id}/hours", headers=admin,
        json={"timezone": "Europe/Lisbon", "holidays": ["2026-12-25"],
              "weekly": {"wed": [["13:00", "18:00"], ["09:00", "13:00"]]}},
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    back = (await client.get(f"/api/v1/teams/{team_id}/hours", headers=admin)).json()
    assert back["weekly"] == {"wed": [["09:00", "13:00"], ["13:00", "18:00"]]}
    assert back["timezone"] == "Europe/Lisbon" and back["holidays"] == ["2026-12-25"]


async def test_the_console_warns_about_an_open_queue_with_no_one_online(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    team = unique("Nightshift")
    admin = await login(client, await make_agent("admin", teams=[team]))
    member = await make_agent("agent", teams=[team])
    team_id = next(
        t["id"] for t in (await client.get("/api/v1/teams", headers=admin)).json()["items"]
        if t["name"] == team
    )  # fmt: skip
    warning = f"team {team} is open now by its business hours, but none of its agents is online"

    async def warnings() -> list[str]:
        response = await client.get("/api/v1/admin/warnings", headers=admin)
        assert response.status_code == 200, response.text
        items: list[str] = response.json()["items"]
        return items

    assert warning not in await warnings()  # no business hours: nothing to say
    always = {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    saved = await client.put(f"/api/v1/teams/{team_id}/hours", headers=admin,
                             json={"timezone": "UTC", "weekly": always})  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert warning in await warnings()
    online = await client.post("/api/v1/agents/me/presence", json={"presence": "online"},
                               headers=await login(client, member))  # fmt: skip
    assert online.status_code == 200, online.text
    assert warning not in await warnings()
    refused = await client.get("/api/v1/admin/warnings", headers=await login(client, member))
    assert refused.status_code == 403
