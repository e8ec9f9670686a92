"""The customer's profile: the bot's `collect` answers become attributes, previous conversations
are listed, agents edit it within the rules, and only those who may see a chat of it see it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.bots.test_bot_flows import customer
from tests.conftest import login, unique
from tests.support.bots import rows_of
from tests.support.whatsapp import find_conversation


async def test_the_profile_keeps_the_bots_answers_and_the_history(
    client: httpx.AsyncClient, bot_channel: dict[str, Any], make_agent: Any
) -> None:
    admin, teams = bot_channel["admin"], bot_channel["teams"]
    carla = customer(client, bot_channel)
    await carla.says("Hi there")
    _, topics = await carla.wait_for_messages(2)
    orders = rows_of(topics)[0]
    await carla.picks(orders["id"], orders["title"])
    await carla.wait_for_messages(3)
    await carla.says("A-123456")
    await carla.wait_for_messages(5)
    first = await find_conversation(client, admin, carla.wa_id)
    contact_id = first["contact"]["id"]

    profile = (await client.get(f"/api/v1/contacts/{contact_id}", headers=admin)).json()
    assert profile["attributes"] == {"order_number": "A-123456"}
    assert profile["wa_id"] == carla.wa_id and profile["opted_out"] is False
    assert [c["id"] for c in profile["conversations"]] == [first["id"]]

    assert (
        await client.post(f"/api/v1/conversations/{first['id']}/resolve", headers=admin)
    ).status_code == 200
    await carla.says("Hello again, one more question")
    second = await find_conversation(client, admin, carla.wa_id)
    assert second["id"] != first["id"]
    profile = (await client.get(f"/api/v1/contacts/{contact_id}", headers=admin)).json()
    history = profile["conversations"]
    assert [c["id"] for c in history] == [second["id"], first["id"]]
    assert history[1]["status"] == "resolved" and history[1]["resolved_at"] is not None
    assert history[1]["team"] == teams["Orders"]

    # An agent of the Orders team sees the profile (through the old chat); an outsider does not.
    orders_agent = await login(client, await make_agent("agent", teams=[teams["Orders"]]))
    seen = await client.get(f"/api/v1/contacts/{contact_id}", headers=orders_agent)
    assert seen.status_code == 200
    outsider = await login(client, await make_agent("agent", teams=[unique("Nowhere")]))
    assert (await client.get(f"/api/v1/contacts/{contact_id}", headers=outsider)).status_code == 404
    assert (
        await client.patch(f"/api/v1/contacts/{contact_id}", json={"name": "x"}, headers=outsider)
    ).status_code == 404

    changed = await client.patch(
        f"/api/v1/contacts/{contact_id}",
        json={"name": "Carla Gómez", "time_zone": "Europe/Madrid", "language": "es",
              "attributes": {"plan": "gold", "order_number": None}, "labels": ["VIP", "vip", "Spain"]},
        headers=orders_agent,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Carla Gómez" and body["time_zone"] == "Europe/Madrid"
    assert body["attributes"] == {"plan": "gold"} and body["labels"] == ["Spain", "VIP"]
    for bad, reason in (
        ({"time_zone": "Mars/Olympus"}, "time zone"),
        ({"language": "Spanish!"}, "language"),
        ({"attributes": {"nested": {"no": 1}}}, "value"),
        ({"wa_id": "123"}, "cannot change wa_id"),
        ({"labels": ["x" * 51]}, "at most 50"),
    ):
        refused = await client.patch(f"/api/v1/contacts/{contact_id}", json=bad, headers=admin)
        assert refused.status_code == 422 and reason in refused.json()["detail"], (
            bad,
            refused.text,
        )
    after = (await client.get(f"/api/v1/contacts/{contact_id}", headers=admin)).json()
    assert after["attributes"] == {"plan": "gold"} and after["time_zone"] == "Europe/Madrid"
