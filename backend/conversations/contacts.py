"""The customer's profile: who they are, what is known about them, and their conversations.

Attributes are key/value facts (the bot's `collect` answers land here through `remember`, agents
edit them); a contact is seen by an agent who may see one of its conversations (`visibility`).
Changing a contact emits `conversation.updated` for its open conversation, so every inbox shows
the new name or labels at once.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent
from backend.agents.models import Team
from backend.conversations.emit import emit_conversation
from backend.conversations.labels import contact_labels, set_contact_labels
from backend.conversations.models import Contact, Conversation, ConversationStatus
from backend.conversations.views import contact_brief, iso
from backend.conversations.visibility import visible_clause
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.realtime.types import EventType
from backend.surveys.models import Survey

MAX_ATTRIBUTES = 100
MAX_KEY = 64
MAX_VALUE = 1000
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
Scalar = str | int | float | bool


def clean_attributes(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` merged into `current`; a null value removes its key. 422 with the reason."""
    merged = dict(current)
    for key, value in changes.items():
        name = str(key).strip()
        if not name or len(name) > MAX_KEY:
            raise ServiceError(422, f"an attribute name is 1 to {MAX_KEY} characters")
        if value is None:
            merged.pop(name, None)
            continue
        if not isinstance(value, Scalar):
            raise ServiceError(422, f"attribute {name}: a value is text, a number or true/false")
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ServiceError(422, f"attribute {name}: at most {MAX_VALUE} characters")
        merged[name] = value
    if len(merged) > MAX_ATTRIBUTES:
        raise ServiceError(422, f"at most {MAX_ATTRIBUTES} attributes")
    return merged


async def remember(session: AsyncSession, contact: Contact, facts: dict[str, Any]) -> bool:
    """Keeps answers about the customer (the bot's `collect` fields) as attributes; True when
    something changed. The caller's transaction commits them."""
    usable = {k: v for k, v in facts.items() if isinstance(v, Scalar) and str(k).strip()}
    merged = clean_attributes(contact.attributes or {}, usable)
    if merged == (contact.attributes or {}):
        return False
    contact.attributes = merged
    contact.updated_at = utcnow()
    return True


async def contact_json(
    session: AsyncSession, contact: Contact, agent: CurrentAgent | None = None
) -> dict[str, Any]:
    """The contract's contact, with every conversation (newest first): `visible` says whether
    the caller may open it (read-only for a past one)."""
    assert contact.id is not None
    conversations = list(
        (
            await session.execute(
                select(Conversation)
                .where(col(Conversation.contact_id) == contact.id)
                .order_by(col(Conversation.created_at).desc())
                .limit(100)
            )
        ).scalars()
    )
    visible: set[int | None] = set()
    if agent is not None:
        visible = set(
            (
                await session.execute(
                    select(col(Conversation.id)).where(
                        col(Conversation.contact_id) == contact.id, visible_clause(agent)
                    )
                )
            ).scalars()
        )
    ids = [c.id for c in conversations if c.id is not None]
    ratings = dict(
        (
            await session.execute(
                select(col(Survey.conversation_id), col(Survey.rating)).where(
                    col(Survey.conversation_id).in_(ids)
                )
            )
        )
        .tuples()
        .all()
    )
    team_ids = {c.team_id for c in conversations if c.team_id is not None}
    teams = dict(
        (await session.execute(select(col(Team.id), col(Team.name)).where(col(Team.id).in_(team_ids)))).tuples().all()
    )  # fmt: skip
    return {
        **contact_brief(contact),
        "time_zone": contact.time_zone,
        "opted_out": contact.opted_out,
        "attributes": contact.attributes or {},
        "labels": await contact_labels(session, contact.id),
        "created_at": iso(contact.created_at),
        "conversations": [
            {
                "id": c.id,
                "status": c.status,
                "team": teams.get(c.team_id or 0),
                "created_at": iso(c.created_at),
                "resolved_at": iso(c.resolved_at),
                "csat": ratings.get(c.id or 0),
                "visible": agent is None or c.id in visible,
            }
            for c in conversations
        ],
    }


async def update_contact(session: AsyncSession, contact: Contact, data: dict[str, Any]) -> None:
    """PATCH: `name`, `attributes` (merged; null removes), `labels`, `time_zone`, `language`."""
    unknown = set(data) - {"name", "attributes", "labels", "time_zone", "language"}
    if unknown:
        raise ServiceError(422, f"cannot change {', '.join(sorted(unknown))}")
    assert contact.id is not None
    if "name" in data:
        name = data["name"]
        if name is not None and (not isinstance(name, str) or len(name.strip()) > 255):
            raise ServiceError(422, "name is text of at most 255 characters")
        contact.name = name.strip() or None if isinstance(name, str) else None
    if "attributes" in data:
        if not isinstance(data["attributes"], dict):
            raise ServiceError(422, "attributes is an object of name → value")
        contact.attributes = clean_attributes(contact.attributes or {}, data["attributes"])
    if "time_zone" in data:
        zone = data["time_zone"]
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise ServiceError(
                    422, f"unknown time zone {zone!r} (e.g. Europe/Berlin)"
                ) from None
        contact.time_zone = zone
    if "language" in data:
        language = data["language"]
        if language is not None and (not isinstance(language, str) or not LANGUAGE.match(language)):
            raise ServiceError(422, "language is a code like de or pt-BR")
        contact.language = language
    if "labels" in data:
        if not isinstance(data["labels"], list):
            raise ServiceError(422, "labels is a list of names")
        await set_contact_labels(session, contact.id, data["labels"])
    contact.updated_at = utcnow()
    await session.flush()
    await announce(session, contact.id)


async def announce(session: AsyncSession, contact_id: int) -> None:
    """Every open conversation of the contact is re-sent as `conversation.updated`."""
    rows = (
        await session.execute(
            select(Conversation).where(
                col(Conversation.contact_id) == contact_id,
                col(Conversation.status) != ConversationStatus.resolved.value,
            )
        )
    ).scalars()
    for conversation in rows:
        await emit_conversation(session, EventType.conversation_updated, conversation)
