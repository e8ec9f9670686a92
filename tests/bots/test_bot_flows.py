"""Whole bot conversations through the sandbox over real HTTP, with the real worker: the customer
types and taps on the sandbox phone, the bot answers on it, and the inbox sees the handoff."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.bots import Customer, buttons_of, rows_of, wa_id_for, wait_for
from tests.support.whatsapp import find_conversation


def customer(client: httpx.AsyncClient, channel: dict[str, Any], code: str = "44") -> Customer:
    return Customer(client, channel["phone_number_id"], wa_id_for(code))


async def messages_of(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def handoff_note(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        notes = [m for m in await messages_of(client, headers, conversation_id)
                 if m["sender"] == "system" and m["payload"].get("note") == "handoff"]  # fmt: skip
        return notes[0] if notes else None

    note: dict[str, Any] = await wait_for(probe, what="handoff note")
    return note


async def test_list_pick_then_order_number_bad_then_good_hands_off_to_orders(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    admin, teams = bot_channel["admin"], bot_channel["teams"]
    carla = customer(client, bot_channel)
    await carla.says("Hi there")
    greeting, topics = await carla.wait_for_messages(2)
    assert greeting["body"]["text"]["body"].startswith("Hi! I'm the Switchboard assistant")
    assert topics["body"]["interactive"]["type"] == "list"
    rows = rows_of(topics)
    assert [r["title"] for r in rows] == [
        "Orders", "Billing", "Technical help", "Talk to a person", "Language / Sprache",
    ]  # fmt: skip
    conversation = await find_conversation(client, admin, carla.wa_id)
    assert conversation["status"] == "bot" and conversation["queued_at"] is None

    await carla.picks(rows[0]["id"], rows[0]["title"])
    prompt = (await carla.wait_for_messages(3))[2]
    assert "order number" in prompt["body"]["text"]["body"]
    await carla.says("my order is 12345")
    retry = (await carla.wait_for_messages(4))[3]
    assert "doesn't look like an order number" in retry["body"]["text"]["body"]
    await carla.says("A-123456")
    *_, thanks, queue = await carla.wait_for_messages(6)
    assert thanks["body"]["text"]["body"].startswith(
        "Thanks! Our orders team has your order number"
    )
    assert queue["body"]["text"]["body"].startswith("You're number 1 in the queue")

    handed = await find_conversation(client, admin, carla.wa_id)
    assert handed["status"] == "queued" and handed["team"] == teams["Orders"]
    assert handed["priority"] == 1 and handed["queued_at"] is not None
    note = await handoff_note(client, admin, handed["id"])
    assert f"Bot handoff to {teams['Orders']} (priority 1)" in note["text"]
    assert "Topic: Orders" in note["text"] and "Order number: A-123456" in note["text"]
    assert "Customer said: Hi there · [Orders] · my order is 12345 · A-123456" in note["text"]
    assert note["payload"]["fields"] == {"order_number": "A-123456"}
    events: list[dict[str, Any]] = []
    while page := (await client.get("/api/v1/events", params={"after": events[-1]["seq"] if events else 0,
                                                              "limit": 1000}, headers=admin)).json()["items"]:  # fmt: skip
        events += page  # every event of the session so far: an admin sees them all
    queued = [
        e
        for e in events
        if e["type"] == "conversation.queued" and e["conversation_id"] == handed["id"]
    ]
    assert len(queued) == 1 and queued[0]["data"]["conversation"]["team"] == teams["Orders"]


async def test_a_tap_on_a_language_button_switches_the_language(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    anna = customer(client, bot_channel)
    await anna.says("hello")
    _, topics = await anna.wait_for_messages(2)
    language_row = rows_of(topics)[4]
    await anna.picks(language_row["id"], language_row["title"])
    choice = (await anna.wait_for_messages(3))[2]
    assert choice["body"]["interactive"]["type"] == "button"
    buttons = buttons_of(choice)
    assert [b["title"] for b in buttons] == ["English", "Deutsch", "Español"]
    await anna.taps(buttons[1]["id"], buttons[1]["title"])
    german = (await anna.wait_for_messages(4))[3]
    assert german["body"]["interactive"]["body"]["text"].startswith("Wobei können wir helfen?")
    assert rows_of(german)[0]["title"] == "Bestellungen"


async def test_the_country_code_picks_the_language_and_keywords_in_it_work(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    jonas = customer(client, bot_channel, code="49")
    await jonas.says("Hallo")
    greeting, _ = await jonas.wait_for_messages(2)
    assert greeting["body"]["text"]["body"].startswith("Hallo! Ich bin der Switchboard-Assistent")
    await jonas.says("Ich möchte mit einem Mitarbeiter sprechen")
    *_, handoff, queue = await jonas.wait_for_messages(4)
    assert handoff["body"]["text"]["body"].startswith("Danke!")
    assert queue["body"]["text"]["body"].startswith("Du bist Nummer 1")


async def test_a_handoff_keyword_queues_with_the_fallback_team_and_waits_are_not_repeated(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    admin, teams = bot_channel["admin"], bot_channel["teams"]
    kim = customer(client, bot_channel)
    await kim.says("Hi")
    await kim.wait_for_messages(2)
    await kim.says("Can I talk to a human please?")
    *_, handoff, queue = await kim.wait_for_messages(4)
    assert handoff["body"]["text"]["body"].startswith("Thanks! A person from our")
    assert queue["body"]["text"]["body"].startswith("You're number 1 in the queue")
    conversation = await find_conversation(client, admin, kim.wa_id)
    assert conversation["status"] == "queued" and conversation["team"] == teams["General"]
    note = await handoff_note(client, admin, conversation["id"])
    assert "asked for a person" in note["text"]
    assert "Customer said: Hi · Can I talk to a human please?" in note["text"]
    # Writing again within five minutes of the last wait notice: no new notice.
    await kim.says("Hello? Anyone?")
    await wait_for(lambda: _has_text(client, admin, conversation["id"], "Hello? Anyone?"))
    await _settled(client, admin, conversation["id"])
    assert len(await kim.received()) == 4


async def test_two_misunderstandings_in_a_row_hand_off(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    admin = bot_channel["admin"]
    lee = customer(client, bot_channel)
    await lee.says("Hi")
    await lee.wait_for_messages(2)
    await lee.says("purple elephants")
    sorry, again = (await lee.wait_for_messages(4))[2:4]
    assert sorry["body"]["text"]["body"] == "Sorry, I didn't get that."
    assert again["body"]["interactive"]["type"] == "list"
    await lee.says("still purple elephants")
    *_, handoff, _queue = await lee.wait_for_messages(6)
    assert handoff["body"]["text"]["body"].startswith("Thanks! A person from our")
    conversation = await find_conversation(client, admin, lee.wa_id)
    assert conversation["status"] == "queued"
    note = await handoff_note(client, admin, conversation["id"])
    assert "the bot did not understand 2 times in a row" in note["text"]


async def test_menu_restarts_and_forgets_the_answers_so_far(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    admin = bot_channel["admin"]
    max_ = customer(client, bot_channel)
    await max_.says("Hi")
    _, topics = await max_.wait_for_messages(2)
    await max_.picks(rows_of(topics)[0]["id"], "Orders")
    await max_.wait_for_messages(3)
    await max_.says("MENU")
    greeting, topics_again = (await max_.wait_for_messages(5))[3:5]
    assert greeting["body"]["text"]["body"].startswith("Hi! I'm the Switchboard assistant")
    assert topics_again["body"]["interactive"]["type"] == "list"
    # a keyword route of the topic list: "invoice" goes straight to billing
    await max_.says("I have a question about my invoice")
    *_, thanks, _queue = await max_.wait_for_messages(7)
    assert thanks["body"]["text"]["body"].startswith("Thanks! Someone from billing")
    conversation = await find_conversation(client, admin, max_.wa_id)
    assert conversation["team"] == bot_channel["teams"]["Billing"]
    note = await handoff_note(client, admin, conversation["id"])
    assert "Order number" not in note["text"] and "Topic: Billing" in note["text"]


async def test_out_of_hours_the_bot_says_when_the_team_is_back_and_still_queues(
    client: httpx.AsyncClient, bot_channel: dict[str, Any]
) -> None:
    from datetime import UTC, datetime, timedelta

    admin, teams = bot_channel["admin"], bot_channel["teams"]
    teams_list = (await client.get("/api/v1/teams", headers=admin)).json()
    items = teams_list["items"] if isinstance(teams_list, dict) else teams_list
    billing = next(t for t in items if t["name"] == teams["Billing"])
    today = datetime.now(UTC).date()
    hours = {
        "timezone": "UTC",
        "weekly": {
            day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        "holidays": [str(today), str(today + timedelta(days=1))],
    }
    response = await client.put(f"/api/v1/teams/{billing['id']}/hours", json=hours, headers=admin)
    assert response.status_code == 200, response.text
    opening = today + timedelta(days=2)
    sam = customer(client, bot_channel)
    await sam.says("Hi")
    _, topics = await sam.wait_for_messages(2)
    await sam.picks(rows_of(topics)[1]["id"], "Billing")
    *_, closed = await sam.wait_for_messages(4)
    assert closed["body"]["text"]["body"] == (
        f"Our {teams['Billing']} team is away right now and back {opening:%A} at 09:00 (UTC)."
        " You're in the queue: we'll answer then."
    )
    conversation = await find_conversation(client, admin, sam.wa_id)
    assert conversation["status"] == "queued" and conversation["team"] == teams["Billing"]
    note = await handoff_note(client, admin, conversation["id"])
    assert f"The team is closed now; back {opening:%A} at 09:00 (UTC)." in note["text"]
    bad = await client.put(f"/api/v1/teams/{billing['id']}/hours",
                           json={**hours, "timezone": "Mars/Olympus"}, headers=admin)  # fmt: skip
    assert bad.status_code == 422 and "Mars/Olympus" in bad.json()["detail"]


async def _has_text(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, text: str
) -> bool:
    return any(m["text"] == text for m in await messages_of(client, headers, conversation_id))


async def _settled(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> None:
    """Gives the worker time to have run the bot step for the newest message."""
    import asyncio

    await asyncio.sleep(1.0)
