"""Search: a word from any message or a customer's name, number, username or attributes.

Messages are found through the database's own full-text index (migration 0013): SQLite FTS5 (an
external-content table kept by triggers, `unicode61` with diacritics folded) or a PostgreSQL
`tsvector` with a GIN index, stemmed in the customer's language and unstemmed beside it. Every
word typed must occur; the last one may be unfinished (results as you type). Results are only
what the caller may see — the conversations' visibility clause is part of the query, not a
filter afterwards, so a limit never hides what is visible behind what is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, column, func, literal_column, or_, table, text
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


def _pg_tsquery(terms: list[str]) -> Any:
    prefix = " & ".join(f"{t}:*" for t in terms)
    query: Any = func.to_tsquery(text("'simple'::regconfig"), prefix)
    plain = " ".join(terms)
    for name in PG_STEMMERS:
        query = query.op("||")(func.plainto_tsquery(text(f"'{name}'::regconfig"), plain))
    return query


async def search_messages(
    session: AsyncSession, agent: CurrentAgent, query: str, limit: int = 20
) -> list[tuple[Message, Excerpt]]:
    terms = terms_of(query)
    if not terms:
        return []
    if dialect_name(session) == "postgresql":
        return await _search_postgres(session, agent, terms, limit)
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
    session: AsyncSession, agent: CurrentAgent, terms: list[str], limit: int
) -> list[tuple[Message, Excerpt]]:
    tsquery = _pg_tsquery(terms)
    options = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=8, MaxFragments=1"
    statement = (
        select(
            Message,
            func.ts_headline(
                text("'simple'::regconfig"),
                func.coalesce(col(Message.text), ""),
                tsquery,
                options,
            ),
        )
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(literal_column("messages.search_vector").op("@@")(tsquery), visible_clause(agent))
        .order_by(col(Message.id).desc())
        .limit(limit)
    )
    rows = (await session.execute(statement)).tuples().all()
    return [(message, excerpt_of(str(marked or message.text or ""))) for message, marked in rows]


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
