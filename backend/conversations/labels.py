"""Labels on conversations and contacts: one vocabulary (the `labels` table), set by name.

Agents label what they may see, and a name used for the first time becomes a label; admins give
labels a colour and a description. Setting a conversation's labels emits `conversation.updated`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.audit.changes import config_changed
from backend.conversations.models import ContactLabel, Conversation, ConversationLabel, Label
from backend.core.errors import ServiceError

MAX_LABELS = 20
MAX_NAME = 50
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def clean_names(names: list[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), in the given order; 422 with the reason."""
    seen: dict[str, str] = {}
    for raw in names:
        name = " ".join(str(raw).split())
        if not name:
            raise ServiceError(422, "a label needs a name")
        if len(name) > MAX_NAME:
            raise ServiceError(422, f"a label is at most {MAX_NAME} characters: {name[:20]}…")
        seen.setdefault(name.lower(), name)
    if len(seen) > MAX_LABELS:
        raise ServiceError(422, f"at most {MAX_LABELS} labels")
    return list(seen.values())


async def ensure_labels(session: AsyncSession, names: list[str]) -> list[Label]:
    """The labels by name (case-insensitive), creating the new ones."""
    found: list[Label] = []
    for name in names:
        existing = await _by_name(session, name)
        if existing is None:
            try:
                async with session.begin_nested():
                    existing = Label(name=name)
                    session.add(existing)
            except IntegrityError:  # a colleague created it a moment ago
                existing = await _by_name(session, name)
                assert existing is not None
        found.append(existing)
    return found


async def _by_name(session: AsyncSession, name: str) -> Label | None:
    result = await session.execute(select(Label).where(func.lower(col(Label.name)) == name.lower()))
    return result.scalars().first()


async def set_conversation_labels(
    session: AsyncSession, conversation_id: int, names: list[str]
) -> list[str]:
    labels = await ensure_labels(session, clean_names(names))
    await session.execute(
        delete(ConversationLabel).where(col(ConversationLabel.conversation_id) == conversation_id)
    )
    for label in labels:
        assert label.id is not None
        session.add(ConversationLabel(conversation_id=conversation_id, label_id=label.id))
    await session.flush()
    return [label.name for label in labels]


async def set_contact_labels(session: AsyncSession, contact_id: int, names: list[str]) -> list[str]:
    labels = await ensure_labels(session, clean_names(names))
    await session.execute(delete(ContactLabel).where(col(ContactLabel.contact_id) == contact_id))
    for label in labels:
        assert label.id is not None
        session.add(ContactLabel(contact_id=contact_id, label_id=label.id))
    await session.flush()
    return [label.name for label in labels]


async def contact_labels(session: AsyncSession, contact_id: int) -> list[str]:
    rows = await session.execute(
        select(col(Label.name))
        .join(ContactLabel, col(ContactLabel.label_id) == col(Label.id))
        .where(col(ContactLabel.contact_id) == contact_id)
        .order_by(col(Label.name))
    )
    return list(rows.scalars())


def labelled(name: str) -> Any:
    """A WHERE clause: conversations that carry the label `name` (case-insensitive)."""
    return col(Conversation.id).in_(
        select(col(ConversationLabel.conversation_id))
        .join(Label, col(Label.id) == col(ConversationLabel.label_id))
        .where(func.lower(col(Label.name)) == name.strip().lower())
    )


def label_json(label: Label) -> dict[str, Any]:
    return {"id": label.id, "name": label.name, "colour": label.colour,
            "description": label.description}  # fmt: skip


async def all_labels(session: AsyncSession) -> list[Label]:
    return list((await session.execute(select(Label).order_by(col(Label.name)))).scalars())


async def update_label(
    session: AsyncSession, label_id: int, *, colour: str | None, description: str | None,
    name: str | None, by: Any = None,
) -> Label:  # fmt: skip
    """An admin's change to a label (audited, and `label.updated` to every agent)."""
    label = await session.get(Label, label_id)
    if label is None:
        raise ServiceError(404, "no such label")
    before = label_json(label)
    if colour is not None:
        if not COLOUR.match(colour):
            raise ServiceError(422, "colour is a hex colour like #1a73e8")
        label.colour = colour.lower()
    if description is not None:
        label.description = description.strip()[:255] or None
    if name is not None:
        (clean,) = clean_names([name])
        other = await _by_name(session, clean)
        if other is not None and other.id != label.id:
            raise ServiceError(409, f"a label named {other.name} exists already")
        label.name = clean
    await session.flush()
    await config_changed(session, "label.updated", by=by, target_id=label_id, before=before,
                         after=label_json(label))  # fmt: skip
    return label


async def labels_of(session: AsyncSession, conversation_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in conversation_ids}
    if not conversation_ids:
        return found
    rows = await session.execute(
        select(col(ConversationLabel.conversation_id), col(Label.name))
        .join(Label, col(Label.id) == col(ConversationLabel.label_id))
        .where(col(ConversationLabel.conversation_id).in_(conversation_ids))
        .order_by(col(Label.name))
    )
    for conversation_id, name in rows.tuples():
        found[conversation_id].append(name)
    return found
