"""Search over a large message history: p95 of `GET /api/v1/search`'s query on each database.

    .venv/bin/python bench/search.py [--database sqlite|postgres] [--messages 1000000]
                                     [--queries 200] [--baseline-queries 10]

Builds a fresh database (migrated like production, so the FTS5 table or the tsvector column,
its trigger and GIN index are the real ones), loads --messages messages in 2,000 conversations
of 1,000 contacts (text drawn Zipf-like from a 5,000-word vocabulary, customers' languages
mixed), then runs the search service itself — the same function the route calls — as an agent
of one of four teams (so the visibility clause is in every query) for --queries words picked
across the vocabulary's ranks (rare, middling, common; a third typed as an unfinished prefix).

The baseline, measured in the same run on the same data, is the query search would need
without a full-text index: `text LIKE '%word%'` with the same visibility and limit
(--baseline-queries of them: each reads every message). The bench prints the p50 and p95 of
both and their ratio. Nothing is measured over HTTP: the figure is the database's work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, Database, log, machine, percentile

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, text
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Team
from backend.channels.models import Channel
from backend.conversations.models import Contact, Conversation, Message
from backend.conversations.visibility import visible_clause
from backend.db.engine import create_engine, create_session_factory
from backend.db.migrate import upgrade
from backend.search.services import search_messages

VOCABULARY = 5000
CONTACTS = 1000
CONVERSATIONS = 2000
TEAMS = 4
BATCH = 5000
LANGUAGES = ("en", "de", "es", "fr", None)


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    return sorted(words, key=lambda w: rng.random())


async def load(url: str, messages: int, rng: random.Random, words: list[str]) -> int:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]  # Zipf: a few words are everywhere
    async with sessions() as session:
        teams = [Team(name=f"bench-team-{i}") for i in range(TEAMS)]
        session.add_all(teams)
        channel = Channel(name="bench", phone_number_id="bench", access_token="x")
        session.add(channel)
        await session.flush()
        contacts = [
            Contact(
                channel_id=channel.id or 0,
                wa_id=f"49{i:010d}",
                name=f"Customer {i}",
                language=LANGUAGES[i % len(LANGUAGES)],
            )
            for i in range(CONTACTS)
        ]
        session.add_all(contacts)
        await session.flush()
        conversations = [
            Conversation(
                channel_id=channel.id or 0,
                contact_id=contacts[i % CONTACTS].id or 0,
                status="resolved",
                team_id=teams[i % TEAMS].id,
            )
            for i in range(CONVERSATIONS)
        ]
        session.add_all(conversations)
        await session.commit()
        conversation_ids = [c.id for c in conversations]
        channel_id = channel.id
        first_team = teams[0].id or 0
    started = time.monotonic()
    written = 0
    while written < messages:
        rows: list[dict[str, Any]] = []
        for _ in range(min(BATCH, messages - written)):
            body = " ".join(rng.choices(words, weights, k=rng.randint(4, 18)))
            rows.append({
                "conversation_id": conversation_ids[rng.randrange(CONVERSATIONS)],
                "channel_id": channel_id, "direction": "inbound", "sender": "customer",
                "type": "text", "text": body, "payload": {}, "status": "received", "attempts": 0,
            })  # fmt: skip
        async with sessions() as session:
            await session.execute(insert(Message), rows)
            await session.commit()
        written += len(rows)
        if written % 100_000 < BATCH:
            log(f"  {written:,} messages ({time.monotonic() - started:.0f} s)")
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE messages"))
    else:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
            )
            await connection.execute(text("ANALYZE"))
    await engine.dispose()
    log(f"loaded {messages:,} messages in {time.monotonic() - started:.0f} s")
    return first_team


async def measure(
    url: str, team_id: int, queries: list[str], baseline: list[str]
) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    agent = CurrentAgent(id=10**9, email="bench@x", name="bench", role="agent", team_ids=(team_id,))
    timings: list[float] = []
    found = 0
    async with sessions() as session:
        await search_messages(session, agent, queries[0])  # warm the caches once
        for query in queries:
            began = time.perf_counter()
            hits = await search_messages(session, agent, query)
            timings.append((time.perf_counter() - began) * 1000)
            found += bool(hits)
        base: list[float] = []
        for word in baseline:
            began = time.perf_counter()
            await session.execute(
                select(Message.id)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(func.lower(col(Message.text)).like(f"%{word}%"), visible_clause(agent))
                .order_by(col(Message.id).desc())
                .limit(20)
            )
            base.append((time.perf_counter() - began) * 1000)
    await engine.dispose()
    return {"timings": timings, "baseline": base, "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(rng)
    picks = [words[rng.choice((rng.randrange(10), rng.randrange(100, 1000), rng.randrange(1000, VOCABULARY)))]
             for _ in range(args.queries)]  # fmt: skip
    queries = [w[: max(3, len(w) - 2)] if i % 3 == 0 else w for i, w in enumerate(picks)]
    baseline = picks[: args.baseline_queries]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as workdir:
        database = Database(args.database, Path(workdir))
        database.create()
        try:
            upgrade(database.url)
            team_id = asyncio.run(load(database.url, args.messages, rng, words))
            result = asyncio.run(measure(database.url, team_id, queries, baseline))
        finally:
            database.drop()
    timings, base = result["timings"], result["baseline"]
    p95, base_p95 = percentile(timings, 95), percentile(base, 95)
    print(f"machine: {machine()}")
    print(f"database: {args.database}, messages: {args.messages:,}, queries: {len(timings)} "
          f"({result['found']} with hits)")  # fmt: skip
    print(f"search (full-text index): p50 {percentile(timings, 50):.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(timings):.1f} ms")  # fmt: skip
    print(
        f"baseline (LIKE scan, same data): p50 {percentile(base, 50):.1f} ms, p95 {base_p95:.1f} ms"
    )
    print(f"ratio p95 search / baseline: {p95 / base_p95:.3f}")


if __name__ == "__main__":
    main()
