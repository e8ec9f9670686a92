"""Search over a large message history: p95 of `GET /api/v1/search`'s query on each database.

    .venv/bin/python bench/search.py [--database sqlite|postgres] [--messages 1000000]
                                     [--queries 200] [--baseline-queries 10] [--keep]
    .venv/bin/python bench/search.py --reuse URL   # measure again on a database --keep left

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
import itertools
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import ROOT, Database, log, machine, percentile

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func
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
BATCH = 20_000
LANGUAGES = ("en", "de", "es", "fr", None)


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    ordered = sorted(words)  # a set's order changes with each process's string hashing
    rng.shuffle(ordered)  # rank = position: the same words are common in every run (--reuse)
    return ordered


async def _setup(url: str) -> tuple[int, int, list[int]]:
    """Teams, a channel, contacts and conversations through the models (small: the ORM is fine)."""
    engine = create_engine(url)
    sessions = create_session_factory(engine)
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
        ids = [c.id or 0 for c in conversations]
        result = (teams[0].id or 0, channel.id or 0, ids)
    await engine.dispose()
    return result


def _batches(
    rng: random.Random, words: list[str], messages: int, conversation_ids: list[int]
) -> Iterator[list[tuple[int, str]]]:
    """(conversation id, text) of each message, BATCH at a time, oldest first."""
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(VOCABULARY)))  # Zipf
    written = 0
    while written < messages:
        count = min(BATCH, messages - written)
        yield [
            (
                conversation_ids[rng.randrange(CONVERSATIONS)],
                " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(4, 18))),
            )
            for _ in range(count)
        ]
        written += count


COLUMNS = ("conversation_id", "channel_id", "direction", "sender", "type", "text", "payload",
           "status", "attempts", "created_at", "updated_at")  # fmt: skip
INSERT_SQLITE = (
    f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608 - constant column names
)


async def _load_postgres(
    url: str, channel_id: int, batches: Iterator[list[tuple[int, str]]]
) -> None:
    """COPY into `messages` with the migration's trigger firing for every row (it computes each
    vector in the customer's language, as in production); the GIN index is dropped for the load
    and created again afterwards from its own definition, the way migration 0013 builds it."""
    import asyncpg  # type: ignore[import-untyped]  # the app's driver; COPY needs it directly

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        index = await connection.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_search'"
        )
        await connection.execute("DROP INDEX ix_messages_search")
        started, written = time.monotonic(), 0
        for batch in batches:
            now = datetime.now(UTC)
            records = [(conversation, channel_id, "inbound", "customer", "text", body, "{}",
                        "received", 0, now, now) for conversation, body in batch]  # fmt: skip
            await connection.copy_records_to_table("messages", records=records, columns=COLUMNS)
            written += len(batch)
            _progress(written, started)
        log(f"  rows in {time.monotonic() - started:.0f} s; building the GIN index")
        await connection.execute(index)
        await connection.execute("VACUUM ANALYZE messages")
    finally:
        await connection.close()


def _load_sqlite(path: str, channel_id: int, batches: Iterator[list[tuple[int, str]]]) -> None:
    """Plain multi-row inserts in large transactions with the migration's FTS5 triggers firing,
    then the FTS5 `optimize` a long-lived index reaches by its own merging."""
    connection = sqlite3.connect(path)
    try:
        started, written = time.monotonic(), 0
        for batch in batches:
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            with connection:
                connection.executemany(
                    INSERT_SQLITE,
                    [(conversation, channel_id, "inbound", "customer", "text", body, "{}",
                      "received", 0, now, now) for conversation, body in batch],
                )  # fmt: skip
            written += len(batch)
            _progress(written, started)
        with connection:
            connection.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _progress(written: int, started: float) -> None:
    if written % 100_000 < BATCH:
        log(f"  {written:,} messages ({time.monotonic() - started:.0f} s)")


def load(url: str, messages: int, rng: random.Random, words: list[str]) -> int:
    started = time.monotonic()
    team_id, channel_id, conversation_ids = asyncio.run(_setup(url))
    batches = _batches(rng, words, messages, conversation_ids)
    if url.startswith("postgresql"):
        asyncio.run(_load_postgres(url, channel_id, batches))
    else:
        _load_sqlite(url.split("///", 1)[1], channel_id, batches)
    log(f"loaded {messages:,} messages in {time.monotonic() - started:.0f} s")
    return team_id


def _loaded(url: str) -> tuple[int, int]:
    """The first bench team and the message count of a database an earlier run kept."""

    async def read() -> tuple[int, int]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            team = (await connection.execute(
                select(Team.id).where(Team.name == "bench-team-0"))).scalar_one()  # fmt: skip
            count = (
                await connection.execute(select(func.count()).select_from(Message))
            ).scalar_one()
        await engine.dispose()
        return int(team or 0), int(count)

    return asyncio.run(read())


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
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    parser.add_argument("--reuse", metavar="URL", help="measure a database --keep left")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(rng)
    picks = [words[rng.choice((rng.randrange(10), rng.randrange(100, 1000), rng.randrange(1000, VOCABULARY)))]
             for _ in range(args.queries)]  # fmt: skip
    queries = [w[: max(3, len(w) - 2)] if i % 3 == 0 else w for i, w in enumerate(picks)]
    baseline = picks[: args.baseline_queries]
    if args.reuse:
        url = args.reuse
        team_id, count = _loaded(url)
        log(f"reusing {url}: {count:,} messages")
        result = asyncio.run(measure(url, team_id, queries, baseline))
    else:
        count = args.messages
        workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
        database = Database(args.database, workdir)
        database.create()
        url = database.url
        try:
            upgrade(url)
            team_id = load(url, args.messages, rng, words)
            result = asyncio.run(measure(url, team_id, queries, baseline))
        finally:
            if args.keep:
                log(f"kept the database: rerun with --reuse {url}")
            else:
                database.drop()
            if not (args.keep and args.database == "sqlite"):  # the SQLite file lives there
                shutil.rmtree(workdir, ignore_errors=True)
    timings, base = result["timings"], result["baseline"]
    p95, base_p95 = percentile(timings, 95), percentile(base, 95)
    print(f"machine: {machine()}")
    kind = "postgres" if url.startswith("postgresql") else "sqlite"
    print(f"database: {kind}, messages: {count:,}, queries: {len(timings)} "
          f"({result['found']} with hits)")  # fmt: skip
    print(f"search (full-text index): p50 {percentile(timings, 50):.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(timings):.1f} ms")  # fmt: skip
    print(
        f"baseline (LIKE scan, same data): p50 {percentile(base, 50):.1f} ms, p95 {base_p95:.1f} ms"
    )
    print(f"ratio p95 search / baseline: {p95 / base_p95:.3f}")


if __name__ == "__main__":
    main()
