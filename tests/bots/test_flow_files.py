"""Flow files: refused with the line and the reason (parser, admin API and CLI), versions kept."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.bots.flow import FlowError, flow_graph, parse_flow
from backend.bots.loading import DEMO_FLOW
from backend.config import Settings
from backend.core.context import AppContext
from tests.support.bots import make_channel
from tests.support.servers import secrets_keys_of

ROOT = Path(__file__).resolve().parents[2]

FOUR_BUTTONS = """\
start: pick
nodes:
  pick:
    type: buttons
    text: Pick one
    buttons:
      - {id: a, title: A, next: done}
      - {id: b, title: B, next: done}
      - {id: c, title: C, next: done}
      - {id: d, title: D, next: done}
  done:
    type: end
"""


def error_of(source: str) -> str:
    with pytest.raises(FlowError) as raised:
        parse_flow(source)
    return str(raised.value)


def test_the_demo_flow_is_valid() -> None:
    parsed = parse_flow(DEMO_FLOW.read_text(encoding="utf-8"))
    assert parsed.definition["start"] == "greeting"
    assert {name for name, _ in parsed.team_refs} == {"Orders", "Billing", "Technical", "General"}


def test_the_diagram_graph_names_each_way_out_of_a_node() -> None:
    """What the editor draws: a row's title and a route's keywords on one edge when both lead to
    the same node, a message's plain next, a collect's answer, where a handoff goes."""
    graph = {n["id"]: n for n in flow_graph(parse_flow(DEMO_FLOW.read_text("utf-8")).definition)}
    assert graph["greeting"]["start"] and graph["greeting"]["edges"] == [
        {"to": "topic", "label": ""}
    ]
    assert graph["topic"]["edges"][:2] == [
        {"to": "order_number", "label": "Orders · says order, delivery, parcel"},
        {"to": "billing_handoff", "label": "Billing · says invoice, bill, refund"},
    ]
    assert graph["order_number"]["edges"] == [{"to": "orders_handoff", "label": "answered"}]
    assert graph["language"]["edges"] == [{"to": "topic", "label": "English · Deutsch · Español"}]
    assert (graph["orders_handoff"]["detail"], graph["orders_handoff"]["edges"]) == (
        "to Orders",
        [],
    )
    assert graph["topic"]["next"] == sorted(e["to"] for e in graph["topic"]["edges"])


def test_errors_name_the_line_and_the_reason() -> None:
    assert error_of(FOUR_BUTTONS) == (
        "line 6: node 'pick' has 4 buttons; WhatsApp allows at most 3 (use a list for more)"
    )
    assert error_of("start: a\nnodes:\n  a:\n    type: message\n    text: [unclosed\n").startswith(
        "line 6: YAML syntax:"
    )
    long_title = FOUR_BUTTONS.replace("      - {id: d, title: D, next: done}\n", "").replace(
        "title: A,", "title: A title far too long for WhatsApp,"
    )
    assert error_of(long_title) == (
        "line 7: node 'pick' button 'a' title: the en text 'A title far too long for Whats'"
        " is 33 characters; WhatsApp allows at most 20"
    )
    rows = "\n".join(f"      - {{id: r{i}, title: Row {i}, next: done}}" for i in range(11))
    listing = f"start: menu\nnodes:\n  menu:\n    type: list\n    text: Choose\n    rows:\n{rows}\n  done:\n    type: end\n"
    assert error_of(listing) == "line 6: list node 'menu' has 11 rows; WhatsApp allows at most 10"
    assert error_of(
        "start: a\nnodes:\n  a:\n    type: message\n    text: hi\n    next: nowhere\n"
    ) == ("line 6: node 'a': 'next' names no node: 'nowhere'")
    assert error_of(
        "start: a\nnodes:\n  a:\n    type: collect\n    text: Order?\n    field: order\n"
        "    pattern: '[unclosed'\n    next: a\n"
    ).startswith("line 7: node 'a': pattern '[unclosed' is not a valid regular expression")
    assert error_of(
        "start: a\nnodes:\n  a:\n    type: message\n    text: hi\n  a:\n    type: end\n"
    ) == ("line 6: duplicate key 'a'")
    loop = "start: a\nnodes:\n  a:\n    type: message\n    text: hi\n    next: b\n  b:\n    type: message\n    text: ho\n    next: a\n"
    assert "message nodes loop back" in error_of(loop)
    several = error_of(
        "start: a\nnodes:\n  a:\n    type: gadget\n  b:\n    type: end\n    colour: red\n"
    )
    assert several == (
        "line 4: node 'a': type must be one of message, buttons, list, collect, handoff, end (got 'gadget');"
        " line 7: node 'b': unknown key 'colour' for a end node"
    )


async def test_the_admin_api_refuses_a_bad_file_with_its_line_and_keeps_versions(
    ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = await make_channel(ctx, "General")
    url = f"/api/v1/channels/{channel['id']}/bot"
    refused = await client.put(url, content=FOUR_BUTTONS.encode(), headers=admin)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("line 6: node 'pick' has 4 buttons")
    unknown_team = "start: h\nnodes:\n  h:\n    type: handoff\n    team: Nobody-Here\n"
    refused = await client.put(url, content=unknown_team.encode(), headers=admin)
    assert (
        refused.status_code == 422
        and refused.json()["detail"] == "line 5: no team named 'Nobody-Here'"
    )
    assert (await client.get(url, headers=admin)).status_code == 404

    good = FOUR_BUTTONS.replace("      - {id: d, title: D, next: done}\n", "")
    for _ in range(2):
        assert (await client.put(url, content=good.encode(), headers=admin)).status_code == 200
    current = (await client.get(url, headers=admin)).json()
    assert current["version"] == 2 and current["source"] == good and current["active"] is True
    versions = (await client.get(f"{url}/versions", headers=admin)).json()["items"]
    assert [(v["version"], v["active"]) for v in versions] == [(2, True), (1, False)]
    rolled = await client.post(f"{url}/versions/1/activate", headers=admin)
    assert rolled.status_code == 200 and rolled.json()["version"] == 3
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_an_agent_may_not_change_a_flow(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any
) -> None:
    from tests.conftest import login

    channel = await make_channel(ctx, "General")
    headers = await login(client, await make_agent("agent"))
    response = await client.put(
        f"/api/v1/channels/{channel['id']}/bot", content=b"start: a", headers=headers
    )
    assert response.status_code == 403


async def test_switchboard_bot_load_activates_a_file_and_refuses_a_bad_one(
    ctx: AppContext,
    settings: Settings,
    tmp_path: Path,
    admin: dict[str, str],
    client: httpx.AsyncClient,
) -> None:
    channel = await make_channel(ctx, "General")
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        # The channel's secrets were encrypted by this test process: the CLI needs its keys.
        "SECRETS_KEYS": secrets_keys_of(settings),
    }
    good = tmp_path / "flow.yaml"
    good.write_text(FOUR_BUTTONS.replace("      - {id: d, title: D, next: done}\n", ""))
    command = [
        sys.executable,
        "-m",
        "backend.cli",
        "bot",
        "load",
        str(good),
        "--channel",
        str(channel["id"]),
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"bot flow version 1 is active on channel {channel['id']}"
    bad = tmp_path / "bad.yaml"
    bad.write_text(FOUR_BUTTONS)
    command[5] = str(bad)
    failed = await asyncio.to_thread(
        subprocess.run, command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 2
    assert f"{bad}: line 6: node 'pick' has 4 buttons" in failed.stderr
    current = (await client.get(f"/api/v1/channels/{channel['id']}/bot", headers=admin)).json()
    assert current["version"] == 1
