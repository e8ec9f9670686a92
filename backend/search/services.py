"""Search: a word from any message or a customer's name, number, username or attributes.

Messages are found through the database's own full-text index (migration 0013): SQLite FTS5 (an
external-content table kept by triggers, `unicode61` with diacritics folded) or a PostgreSQL
`tsvector` with a GIN index, stemmed in the customer's language and unstemmed beside it. Every
word typed must occur; the last one may be unfinished (results as you type). Results are only
what the caller may see — the conversations' visibility clause is part of the query, not a
filter afterwards, so a limit never hides what is visible behind what is not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, column, func, literal_column, or_, table, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.conversations.models import Contact, Conversation, Message
from backend.conversations.views import message_json
from backend.conversations.visibility import visible_clause
from backend.db.engine import dialect_name

START, STOP = "\u27e6", "\u27e7"  # the highlight marks the database puts around a match
WORD = re.compile(r"[\w]+", re.UNICODE)
MAX_TERMS = 8
# Stemming configurations a PostgreSQL query is also read in (the index stems each message in its
# customer's language: a query in any of these meets it).
# How many of the newest message ids PostgreSQL walks before it asks the GIN index instead (see
# `_search_postgres`): a word with 20 visible matches among them is found there; one without is
# rare enough that reading all its older matches is cheap. ~10 ms of walking on the bench machine.
NEWEST_WINDOW = 20_000
# Beyond the window, more matches than this (PostgreSQL's own estimate) are not read through the
# GIN index: the walk goes on instead, which stops at the limit (see `_search_postgres`).
GIN_ROWS = 50_000
PG_STEMMERS = ("english", "german", "french", "spanish", "portuguese", "italian", "dutch")


@dataclass(frozen=True)
class Excerpt:
    text: str
    highlights: list[tuple[int, int]]  # [start, end) offsets of the matches in `text`


def terms_of(query: str) -> list[str]:
    return [t.lower() for t in WORD.findall(query)][:MAX_TERMS]


def excerpt_of(marked: str) -> Excerpt:
    """The database's marked-up snippet as plain text plus the matches' offsets."""
    plain: list[str] = []
    highlights: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for part in re.split(f"([{START}{STOP}])", marked):
        if part == START:
            start = length
        elif part == STOP:
            if start is not None:
                highlights.append((start, length))
            start = None
        else:
            plain.append(part)
            length += len(part)
    return Excerpt("".join(plain), highlights)


def fts5_query(terms: list[str]) -> str:
    """Each term quoted (no FTS5 syntax from the user), all required, the last as a prefix."""
    quoted = [f'"{t}"' for t in terms]
    quoted[-1] += "*"
    return " ".join(quoted)


def _pg_tsquery_parts(terms: list[str]) -> list[Any]:
    """The query read unstemmed (every term, the last as a prefix) and in each stemmer."""
    prefix = " & ".join(f"{t}:*" for t in terms)
    plain = " ".join(terms)
    parts = [func.to_tsquery(text("'simple'::regconfig"), prefix)]
    parts += [func.plainto_tsquery(text(f"'{name}'::regconfig"), plain) for name in PG_STEMMERS]
    return parts


async def search_messages(
    session: AsyncSession, agent: CurrentAgent, query: str, limit: int = 20,
    *, window: int | None = NEWEST_WINDOW, gin_rows: int = GIN_ROWS,
) -> list[tuple[Message, Excerpt]]:  # fmt: skip
    """The newest `limit` visible messages with every term. `window` and `gin_rows` are
    PostgreSQL's (see `_search_postgres`); SQLite's FTS5 needs neither."""
    terms = terms_of(query)
    if not terms:
        return []
    if dialect_name(session) == "postgresql":
        return await _search_postgres(session, agent, terms, limit, window, gin_rows)
    fts = table("messages_fts", column("rowid"))
    statement = (
        select(Message, func.snippet(literal_column("messages_fts"), 0, START, STOP, "…", 16))
        .select_from(fts)
        .join(Message, col(Message.id) == fts.c.rowid)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(literal_column("messages_fts").op("MATCH")(fts5_query(terms)), visible_clause(agent))
        # FTS5 walks its doclists newest-first itself: with LIMIT it stops early, where
        # ordering by the joined table's id would sort every match of a common word.
        .order_by(fts.c.rowid.desc())
        .limit(limit)
    )
    rows = (await session.execute(statement)).tuples().all()
    return [(message, excerpt_of(str(marked or message.text or ""))) for message, marked in rows]


async def _search_postgres(
    session: AsyncSession, agent: CurrentAgent, terms: list[str], limit: int,
    window: int | None = NEWEST_WINDOW, gin_rows: int = GIN_ROWS,
) -> list[tuple[Message, Excerpt]]:  # fmt: skip
    """Newest first in two exact steps, each with a plan fixed by the query's shape.

    PostgreSQL cannot walk a GIN index in id order, and its estimate for a tsquery is too coarse
    to choose well between the two ways there are (at 1,000,000 messages it walked the primary key
    backwards for every word, reading the whole table for a rare one). So: (1) walk the newest
    `window` ids backwards, testing each vector, until `limit` visible matches are found — enough
    for any common word and bounded by the window; (2) only when that did not fill the limit, the
    GIN index for the older ids — then the word is rare, so its matches are few to read and sort.
    Unless PostgreSQL expects more than `gin_rows` of them (a word that was common long ago, or
    an agent who sees few conversations): then the walk goes on past the window instead, which
    stops at the limit where reading every match through the index would not (1.5 s for a word
    in 673,000 of 1,000,000 messages). Both steps share one boundary id, so together they are
    exactly the plain query's rows;
    the messages and their excerpts are then read for those ids alone. `window=None` runs the
    plain query instead (the reference the strategy is tested against)."""
    # One round trip first: the newest id, the query's readings (the same lexemes come out of
    # most stemmers, and each duplicate would be tested again on every row walked), and custom
    # plans for the rest of this transaction (SET LOCAL) — asyncpg prepares statements, and
    # after five runs PostgreSQL would switch to one generic plan made without the words (seen
    # at 1,000,000 messages: the older step went from 3 ms to 40 ms).
    custom = func.set_config("plan_cache_mode", "force_custom_plan", True)
    parts = _pg_tsquery_parts(terms)
    prelude = select(custom, func.max(col(Message.id)), *(cast(part, String) for part in parts))
    row = (await session.execute(prelude)).one()
    newest: int | None = row[1]
    readings: list[str | None] = list(row[2:])
    distinct = [reading for reading in dict.fromkeys(readings) if reading]
    if newest is None or not distinct:
        return []
    query_text = " | ".join(f"( {reading} )" for reading in distinct)
    tsquery = cast(query_text, TSQUERY)
    if window is None:
        ids = await _pg_ids(session, agent, tsquery, limit, None, None)
    else:
        boundary = newest - window
        ids = await _pg_ids(session, agent, tsquery, limit, boundary, "newest")
        if len(ids) < limit and boundary > 0:
            many = await _pg_estimate(session, query_text, boundary) > gin_rows
            part = "walk" if many else "older"
            ids += await _pg_ids(session, agent, tsquery, limit - len(ids), boundary, part)
    if not ids:
        return []
    options = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=8, MaxFragments=1"
    headline = func.ts_headline(
        text("'simple'::regconfig"), func.coalesce(col(Message.text), ""), tsquery, options
    )
    statement = (
        select(Message, headline).where(col(Message.id).in_(ids)).order_by(col(Message.id).desc())
    )
    rows = (await session.execute(statement)).tuples().all()
    return [(message, excerpt_of(str(marked or message.text or ""))) for message, marked in rows]


async def _pg_estimate(session: AsyncSession, query_text: str, boundary: int) -> float:
    """PostgreSQL's estimate of the matches at or below `boundary` (its statistics of the
    vectors' most common lexemes: good for common words, which is what it is asked about)."""
    explained = await session.execute(
        text("EXPLAIN (FORMAT JSON) SELECT 1 FROM messages "
             "WHERE search_vector @@ CAST(:q AS tsquery) AND id <= :b"),
        {"q": query_text, "b": boundary},
    )  # fmt: skip
    plan = explained.scalar_one()
    rows: float = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
    return rows


async def _pg_ids(
    session: AsyncSession, agent: CurrentAgent, tsquery: Any, limit: int,
    boundary: int | None, part: str | None,
) -> list[int]:  # fmt: skip
    """The ids of one step of `_search_postgres`, newest first. The inner query is a fence
    (OFFSET 0: PostgreSQL neither flattens it nor pushes conditions into it), which fixes the
    plan: for the newest ids (and for a `walk` past them) a backward walk of the primary key with
    the match tested above it; for the older ids the match inside, so the GIN index answers it."""
    vector: Any = literal_column("messages.search_vector")
    inner = select(col(Message.id), col(Message.conversation_id), vector.label("vector"))
    if part in ("newest", "walk"):
        ids_here = col(Message.id) > boundary if part == "newest" else col(Message.id) <= boundary
        inner = inner.where(ids_here).order_by(col(Message.id).desc())
    else:
        inner = inner.where(vector.op("@@")(tsquery))
        if part == "older":
            inner = inner.where(col(Message.id) <= boundary)
    found = (inner.offset(0) if part else inner).subquery("m")
    statement = (
        select(found.c.id)
        .join(Conversation, col(Conversation.id) == found.c.conversation_id)
        .where(visible_clause(agent))
        .order_by(found.c.id.desc())
        .limit(limit)
    )
    if part in ("newest", "walk"):
        statement = statement.where(found.c.vector.op("@@")(tsquery))
    return list((await session.execute(statement)).scalars())


async def search_contacts(
    session: AsyncSession, agent: CurrentAgent, query: str, limit: int = 10
) -> list[Contact]:
    """Name, number, @username or an attribute's value, among contacts the caller may see."""
    needle = query.strip().lower()
    if not needle:
        return []
    pattern = f"%{needle.lstrip('@').replace('%', '').replace('_', '')}%"
    digits = re.sub(r"\D", "", needle)
    matches = [
        func.lower(col(Contact.name)).like(pattern),
        func.lower(col(Contact.username)).like(pattern),
        func.lower(cast(col(Contact.attributes), String)).like(pattern),
    ]
    if digits:
        matches.append(col(Contact.wa_id).like(f"%{digits}%"))
    seen = select(col(Conversation.contact_id)).where(visible_clause(agent))
    statement = (
        select(Contact)
        .where(or_(*matches), col(Contact.id).in_(seen))
        .order_by(col(Contact.updated_at).desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def search(
    session: AsyncSession, agent: CurrentAgent, query: str, limit: int = 20
) -> dict[str, Any]:
    messages = await search_messages(session, agent, query, limit)
    contacts = await search_contacts(session, agent, query)
    return {
        "messages": [
            {
                "message": await message_json(session, message),
                "conversation_id": message.conversation_id,
                "excerpt": excerpt.text,
                "highlights": [list(span) for span in excerpt.highlights],
            }
            for message, excerpt in messages
        ],
        "contacts": [
            {
                "id": c.id,
                "wa_id": c.wa_id,
                "user_id": c.user_id,
                "username": c.username,
                "name": c.name,
                "language": c.language,
                "attributes": c.attributes or {},
            }
            for c in contacts
        ],
    }
