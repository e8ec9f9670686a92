"""What the admin console's Channels and Bot flows pages ask: a generated verify token, Test
connection against a recording stand-in of the Graph API (its answer and its errors), a fresh
verify token, and a flow checked line by line without being saved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import login, unique
from tests.support.bots import make_channel
from tests.support.graph_standin import TOKEN, GraphStandin, start_graph_standin
from tests.support.whatsapp import new_wa_id


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    standin = start_graph_standin()
    yield standin
    standin.stop()


async def add_channel(client: httpx.AsyncClient, headers: dict[str, str], graph: GraphStandin,
                      token: str = TOKEN) -> dict[str, Any]:  # fmt: skip
    number = "1666" + new_wa_id()[-9:]
    created = await client.post("/api/v1/channels", headers=headers, json={
        "name": unique("Shop"), "phone_number_id": number, "access_token": token,
        "app_secret": "shop-secret", "api_base_url": graph.base_url,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    channel: dict[str, Any] = created.json()
    return channel


async def test_a_cloud_channel_gets_a_verify_token_and_its_connection_is_tested(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin
) -> None:
    headers = await login(client, await make_agent("admin"))
    channel = await add_channel(client, headers, graph)
    assert len(channel["verify_token"]) >= 20
    assert channel["webhook_url"].endswith("/webhooks/whatsapp")
    graph.numbers[channel["phone_number_id"]] = {
        "id": channel["phone_number_id"], "display_phone_number": "+1 555-0142",
        "verified_name": "Shop Ltd", "status": "CONNECTED", "quality_rating": "YELLOW",
        "messaging_limit_tier": "TIER_10K",
    }  # fmt: skip
    tested = await client.post(f"/api/v1/channels/{channel['id']}/test", headers=headers)
    assert tested.status_code == 200, tested.text
    assert tested.json() == {
        "ok": True, "display_phone_number": "+1 555-0142", "verified_name": "Shop Ltd",
        "quality_rating": "YELLOW", "messaging_limit_tier": "TIER_10K", "status": "CONNECTED",
    }  # fmt: skip
    asked = graph.requests[-1]
    assert asked["number_id"] == channel["phone_number_id"]
    assert asked["authorization"] == f"Bearer {TOKEN}"

    fresh = await client.post(f"/api/v1/channels/{channel['id']}/verify-token", headers=headers)
    assert fresh.status_code == 200 and fresh.json()["verify_token"] != channel["verify_token"]


async def test_a_wrong_token_and_an_unknown_number_show_metas_error(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin
) -> None:
    headers = await login(client, await make_agent("admin"))
    wrong = await add_channel(client, headers, graph, token="not-the-token")
    tested = (await client.post(f"/api/v1/channels/{wrong['id']}/test", headers=headers)).json()
    assert tested["ok"] is False and tested["error"]["code"] == 190
    assert "Invalid OAuth access token" in tested["error"]["message"]
    unknown = await add_channel(client, headers, graph)
    tested = (await client.post(f"/api/v1/channels/{unknown['id']}/test", headers=headers)).json()
    assert tested["ok"] is False and tested["error"]["code"] == 100
    agent = await login(client, await make_agent("agent"))
    refused = await client.post(f"/api/v1/channels/{wrong['id']}/test", headers=agent)
    assert refused.status_code == 403


async def test_the_sandbox_number_answers_test_connection(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("admin"))
    channels = (await client.get("/api/v1/channels", headers=headers)).json()["items"]
    default = next(c for c in channels if c["is_default"])
    tested = (await client.post(f"/api/v1/channels/{default['id']}/test", headers=headers)).json()
    assert tested["ok"] is True and tested["quality_rating"] == "GREEN", tested


async def test_a_flow_is_checked_line_by_line_without_being_saved(
    client: httpx.AsyncClient, make_agent: Any, ctx: Any
) -> None:
    channel = await make_channel(ctx, "General")
    headers = {**await login(client, await make_agent("admin")), "Content-Type": "text/plain"}
    source = "name: Check\nstart: hello\nnodes:\n  hello:\n    type: message\n    text: Hi\n    next: gone\n"
    checked = await client.post(f"/api/v1/channels/{channel['id']}/bot/validate", content=source,
                                headers=headers)  # fmt: skip
    assert checked.status_code == 200, checked.text
    assert checked.json()["ok"] is False
    assert checked.json()["problems"] == [
        {"line": 7, "message": "node 'hello': 'next' names no node: 'gone'"}
    ]
    fixed = source.replace(
        "    next: gone\n", "    next: bye\n  bye:\n    type: handoff\n    team: Nowhere Team\n"
    )
    teams = (await client.post(f"/api/v1/channels/{channel['id']}/bot/validate", content=fixed,
                               headers=headers)).json()  # fmt: skip
    assert teams["problems"] == [{"line": 10, "message": "no team named 'Nowhere Team'"}]
    good = fixed.replace("Nowhere Team", "General")
    ok = (await client.post(f"/api/v1/channels/{channel['id']}/bot/validate", content=good,
                            headers=headers)).json()  # fmt: skip
    assert ok["ok"] is True
    assert {n["id"]: n["next"] for n in ok["nodes"]} == {"hello": ["bye"], "bye": []}
    saved = await client.get(f"/api/v1/channels/{channel['id']}/bot", headers=headers)
    assert saved.status_code == 404  # checking saves nothing


async def test_an_access_token_is_replaced_and_tested_in_one_step(
    client: httpx.AsyncClient, make_agent: Any, graph: GraphStandin
) -> None:
    headers = await login(client, await make_agent("admin"))
    channel = await add_channel(client, headers, graph, token="EAAG-expired-token")
    graph.numbers[channel["phone_number_id"]] = {
        "id": channel["phone_number_id"], "display_phone_number": "+1 555-0199",
        "verified_name": "Shop Ltd", "status": "CONNECTED", "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_1K",
    }  # fmt: skip
    path = f"/api/v1/channels/{channel['id']}"
    assert (await client.post(f"{path}/test", headers=headers)).json()["ok"] is False

    replaced = await client.post(
        f"{path}/access-token", json={"access_token": TOKEN}, headers=headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["connection"]["verified_name"] == "Shop Ltd"
    assert graph.requests[-1]["authorization"] == f"Bearer {TOKEN}"
    assert (await client.post(f"{path}/test", headers=headers)).json()["ok"] is True

    refused = await client.post(
        f"{path}/access-token", json={"access_token": "EAAG-typo"}, headers=headers
    )
    assert refused.status_code == 422
    assert (
        "old one is kept" in refused.json()["detail"]
        and "Invalid OAuth" in refused.json()["detail"]
    )
    assert (await client.post(f"{path}/test", headers=headers)).json()[
        "ok"
    ] is True  # still the good one
    agent = await login(client, await make_agent("agent"))
    forbidden = await client.post(
        f"{path}/access-token", json={"access_token": TOKEN}, headers=agent
    )
    assert forbidden.status_code == 403
    audit = (await client.get("/api/v1/audit", params={"action": "channel.access_token_replaced"},
                              headers=headers)).json()  # fmt: skip
    targets = [e["target"] for e in audit["items"]]
    assert {"type": "channel", "id": str(channel["id"])} in targets, targets
