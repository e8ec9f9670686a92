"""Labels on conversations: set by whoever may see the chat, filtered in the list, announced as
`conversation.updated`; admins manage colours and descriptions; bad names are refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


async def _chat(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "my invoice is wrong")
    return await find_conversation(client, headers, wa_id)


async def test_labels_are_set_filtered_and_announced(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await login(client, await make_agent("agent"))
    admin = await login(client, await make_agent("admin"))
    billing, urgent = unique("billing"), unique("urgent")
    tagged, plain = await _chat(client, agent), await _chat(client, agent)
    before = (
        await client.get("/api/v1/events", params={"after": 0, "limit": 1}, headers=agent)
    ).json()["latest_seq"]
    put = await client.put(f"/api/v1/conversations/{tagged['id']}/labels",
                           json={"labels": [billing, urgent, f" {billing.upper()} "]}, headers=agent)  # fmt: skip
    assert put.status_code == 200, put.text
    assert sorted(put.json()["labels"]) == sorted([billing, urgent])
    listed = (
        await client.get("/api/v1/conversations", params={"label": billing}, headers=agent)
    ).json()["items"]
    assert [c["id"] for c in listed] == [tagged["id"]]
    assert plain["id"] not in [c["id"] for c in listed]
    assert sorted(listed[0]["labels"]) == sorted([billing, urgent])
    events = (await client.get("/api/v1/events", params={"after": before}, headers=agent)).json()[
        "items"
    ]
    updated = [
        e
        for e in events
        if e["type"] == "conversation.updated" and e["conversation_id"] == tagged["id"]
    ]
    assert len(updated) == 1 and sorted(updated[0]["data"]["conversation"]["labels"]) == sorted(
        [billing, urgent]
    )

    cleared = await client.put(
        f"/api/v1/conversations/{tagged['id']}/labels", json={"labels": [urgent]}, headers=agent
    )
    assert cleared.json()["labels"] == [urgent]
    assert (
        await client.get("/api/v1/conversations", params={"label": billing}, headers=agent)
    ).json()["items"] == []

    label = next(
        x
        for x in (await client.get("/api/v1/labels", headers=agent)).json()["items"]
        if x["name"] == urgent
    )
    assert (
        await client.patch(
            f"/api/v1/labels/{label['id']}", json={"colour": "#aa0000"}, headers=agent
        )
    ).status_code == 403
    styled = await client.patch(f"/api/v1/labels/{label['id']}",
                                json={"colour": "#AA0000", "description": "reply within the hour"}, headers=admin)  # fmt: skip
    assert styled.json() == {"id": label["id"], "name": urgent, "colour": "#aa0000",
                             "description": "reply within the hour"}  # fmt: skip
    bad_colour = await client.patch(
        f"/api/v1/labels/{label['id']}", json={"colour": "red"}, headers=admin
    )
    assert bad_colour.status_code == 422 and "hex" in bad_colour.json()["detail"]

    empty = await client.put(
        f"/api/v1/conversations/{tagged['id']}/labels", json={"labels": ["  "]}, headers=agent
    )
    assert empty.status_code == 422 and "name" in empty.json()["detail"]
    outsider = await login(client, await make_agent("agent", teams=[unique("Elsewhere")]))
    hidden = await client.put(
        f"/api/v1/conversations/{tagged['id']}/labels", json={"labels": ["x"]}, headers=outsider
    )
    assert hidden.status_code == 404
    still = (await client.get(f"/api/v1/conversations/{tagged['id']}", headers=agent)).json()
    assert still["labels"] == [urgent]
