"""Quick reply variables filled for one conversation: the contact's name and first name, the
agent's name, the conversation id and the contact's attributes; gaps are named, not guessed."""

from __future__ import annotations

from typing import Any

import httpx

from backend.quick_replies.variables import fill
from tests.conftest import login
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


def test_fill_leaves_gaps_empty_and_names_them() -> None:
    filled = fill(
        "Hi {{ contact.first_name }}! {{x.y}}{{contact.name}}", {"contact.first_name": "Ana"}
    )
    assert filled.text == "Hi Ana! "
    assert filled.missing == ["x.y", "contact.name"]
    assert fill("no variables {here}", {}).text == "no variables {here}"


async def test_variables_are_filled_for_the_conversation(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent", name="Dora Diaz")
    headers = await login(client, agent)
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hello", name="Carla Gómez Ruiz")
    conversation = await find_conversation(client, headers, wa_id)
    cid = conversation["id"]
    patched = await client.patch(f"/api/v1/contacts/{conversation['contact']['id']}",
                                 json={"attributes": {"plan": "gold", "order_number": "A-1"}}, headers=headers)  # fmt: skip
    assert patched.status_code == 200
    text = ("Hi {{contact.first_name}} ({{contact.name}}), I'm {{agent.name}}. Ticket {{conversation.id}}, "
            "plan {{contact.attributes.plan}}, order {{contact.attributes.order_number}}{{contact.attributes.vat}}.")  # fmt: skip
    response = await client.post(
        f"/api/v1/conversations/{cid}/fill", json={"text": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "text": f"Hi Carla (Carla Gómez Ruiz), I'm Dora Diaz. Ticket {cid}, plan gold, order A-1.",
        "missing": ["contact.attributes.vat"],
    }
    too_long = await client.post(
        f"/api/v1/conversations/{cid}/fill", json={"text": "x" * 5000}, headers=headers
    )
    assert too_long.status_code == 400
