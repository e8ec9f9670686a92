"""Variables in quick replies: `{{contact.name}}`, `{{contact.first_name}}`, `{{agent.name}}`,
`{{conversation.id}}` and `{{contact.attributes.<key>}}`, filled for one conversation.

The composer shows the filled text before sending and sends what it showed; an unknown variable
or one with no value is left empty and named in `missing`, so the agent sees the gap first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.conversations.models import Contact
from backend.conversations.visibility import get_visible

VARIABLE = re.compile(r"\{\{\s*([a-z_]+(?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")


@dataclass(frozen=True)
class Filled:
    text: str
    missing: list[str]


def fill(text: str, values: dict[str, Any]) -> Filled:
    missing: list[str] = []

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None or value == "":
            missing.append(name)
            return ""
        return str(value)

    return Filled(VARIABLE.sub(value_of, text), list(dict.fromkeys(missing)))


def values_for(contact: Contact, agent: CurrentAgent, conversation_id: int) -> dict[str, Any]:
    name = (contact.name or "").strip()
    values: dict[str, Any] = {
        "contact.name": name or None,
        "contact.first_name": name.split()[0] if name else None,
        "agent.name": agent.name,
        "conversation.id": conversation_id,
    }
    for key, value in (contact.attributes or {}).items():
        values[f"contact.attributes.{key}"] = value
    return values


async def fill_for_conversation(
    session: AsyncSession, agent: CurrentAgent, conversation_id: int, text: str
) -> Filled:
    conversation = await get_visible(session, agent, conversation_id)
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    return fill(text, values_for(contact, agent, conversation_id))
