"""Search over real HTTP on the suite's database (SQLite FTS5, or PostgreSQL's tsvector with
TEST_DATABASE_URL): a word from a message is found with a highlighted excerpt, also while still
being typed, and never what the caller may not see."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from backend.agents.auth import CurrentAgent, load_current_agent
from backend.config import Settings
from backend.core.context import AppContext
from backend.search.services import search_messages
from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


def _word() -> str:
    """A word no other test writes (letters only: FTS tokenizers split digits and letters alike)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


async def _search(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> dict[str, Any]:
    response = await client.get("/api/v1/search", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_word_is_found_with_its_excerpt_and_only_where_visible(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    word = _word()
    insider = await login(client, await make_agent("agent"))
    outsider_agent = await make_agent("agent", teams=[unique("Elsewhere")])
    outsider = await login(client, outsider_agent)
    lead = await login(client, await make_agent("lead"))
    wa_id = new_wa_id()
    name = unique("Gunnar")
    await customer_says(
        client, wa_id, f"Hello, my parcel {word} arrived broken, the box was crushed", name=name
    )
    conversation = await find_conversation(client, insider, wa_id)

    found = await _search(client, insider, word)
    hits = [h for h in found["messages"] if h["conversation_id"] == conversation["id"]]
    assert len(hits) == 1
    hit = hits[0]
    assert hit["message"]["text"].startswith("Hello, my parcel")
    start, end = hit["highlights"][0]
    assert hit["excerpt"][start:end].lower() == word
    # As you type: the unfinished last word matches too, with the other words required.
    assert [h["conversation_id"] for h in (await _search(client, insider, f"parcel {word[:6]}"))["messages"]
            if h["conversation_id"] == conversation["id"]] == [conversation["id"]]  # fmt: skip
    assert (await _search(client, insider, f"{word} elephant"))["messages"] == []
    assert (await _search(client, lead, word))["messages"][0]["conversation_id"] == conversation[
        "id"
    ]

    # The outsider's team does not see the chat: neither its message nor its contact.
    assert (await _search(client, outsider, word))["messages"] == []
    assert (await _search(client, outsider, name))["contacts"] == []
    contacts = (await _search(client, insider, name))["contacts"]
    assert [c["name"] for c in contacts] == [name]
    # A mention lets the outsider in, and search follows the same rule.
    await client.post(f"/api/v1/conversations/{conversation['id']}/claim", headers=insider)
    note = await client.post(f"/api/v1/conversations/{conversation['id']}/notes",
                             json={"text": "please look", "mentions": [outsider_agent["id"]]}, headers=insider)  # fmt: skip
    assert note.status_code == 201
    assert [h["conversation_id"] for h in (await _search(client, outsider, word))["messages"]] == [
        conversation["id"]
    ]


async def test_odd_queries_are_safe(client: httpx.AsyncClient, make_agent: Any) -> None:
    headers = await login(client, await make_agent("agent"))
    for q in ('"; DROP TABLE messages; --', "NEAR(a b)", "*", "a OR", "ünïcödé ✓", "@+49"):
        assert (
            await client.get("/api/v1/search", params={"q": q}, headers=headers)
        ).status_code == 200, q
    assert (
        await client.get("/api/v1/search", params={"q": ""}, headers=headers)
    ).status_code == 400


async def test_postgresql_stems_in_the_customers_language(
    client: httpx.AsyncClient, make_agent: Any, app_settings: Settings
) -> None:
    """On PostgreSQL a message is indexed in its customer's language too: `processing` finds
    `processed` (SQLite's FTS5 has no stemmer: there the unfinished word matches as a prefix)."""
    headers = await login(client, await make_agent("agent"))
    wa_id, word = new_wa_id(), _word()
    await customer_says(client, wa_id, f"hello {word}")
    conversation = await find_conversation(client, headers, wa_id)
    await client.patch(
        f"/api/v1/contacts/{conversation['contact']['id']}",
        json={"language": "en"},
        headers=headers,
    )
    await customer_says(client, wa_id, f"my {word} refund was processed yesterday")
    prefix = await _search(client, headers, f"{word} process")
    assert [h["message"]["text"] for h in prefix["messages"]] == [
        f"my {word} refund was processed yesterday"
    ]
    stemmed = await _search(client, headers, f"{word} processing")
    if app_settings.database_url.startswith("postgresql"):
        assert [h["message"]["text"] for h in stemmed["messages"]] == [
            f"my {word} refund was processed yesterday"
        ]
    else:
        assert stemmed["messages"] == []


async def test_postgresql_newest_window_then_older_ids_give_the_plain_querys_results(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext, app_settings: Settings
) -> None:
    """PostgreSQL walks the newest ids first and, only when the limit is not filled, asks the GIN
    index for the older ones — or walks on when it expects many (backend/search/services.py).
    With windows of a few ids over this chat, every split of the work either way must give
    exactly the plain query's messages, newest first: a rare word said only in the oldest
    message is still found, and visibility holds in every step."""
    if not app_settings.database_url.startswith("postgresql"):
        pytest.skip("the windowed strategy is PostgreSQL's: SQLite's FTS5 walks newest first")
    insider = await load_current_agent(ctx, (await make_agent("agent"))["id"])
    outsider = await load_current_agent(
        ctx, (await make_agent("agent", teams=[unique("Elsewhere")]))["id"]
    )
    assert insider is not None and outsider is not None
    rare, common, wa_id = _word(), _word(), new_wa_id()
    await customer_says(client, wa_id, f"my first order {rare} never came")
    for i in range(12):
        await customer_says(client, wa_id, f"{common} reminder number {i}")

    async def ids(
        agent: CurrentAgent, q: str, limit: int, window: int | None, gin_rows: int = 10**9
    ) -> list[int]:
        async with ctx.sessions() as session:
            found = await search_messages(
                session, agent, q, limit, window=window, gin_rows=gin_rows
            )
        return [message.id or 0 for message, _ in found]

    for _ in range(50):  # the webhook's messages are stored by then, but wait boundedly
        if len(await ids(insider, common, 20, None)) == 12:
            break
        await asyncio.sleep(0.1)
    assert len(await ids(insider, common, 20, None)) == 12
    [oldest] = await ids(insider, rare, 20, None)
    for q in (rare, common, common[:5], f"{common} number", f"{rare} order"):
        for limit in (1, 5, 20):
            plain = await ids(insider, q, limit, None)
            assert plain, q
            for window in (1, 3, 8, 1_000_000):
                # Past the window through the GIN index, or (expected to match many) walking on.
                for gin_rows in (10**9, 0):
                    assert await ids(insider, q, limit, window, gin_rows) == plain, (
                        q,
                        limit,
                        window,
                        gin_rows,
                    )
            assert await ids(outsider, q, limit, 3) == []
            assert await ids(outsider, q, limit, 3, 0) == []
    assert await ids(insider, rare, 20, 3) == [oldest]  # beyond the window, from the GIN index
    assert await ids(insider, rare, 20, 3, 0) == [oldest]  # beyond the window, walking on
