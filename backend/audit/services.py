"""Writing and reading the audit log. `record` joins the caller's transaction, so an action and
its entry commit together; values under secret-looking keys never reach the log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.audit.models import AuditEntry

_SECRET_WORDS = ("password", "secret", "token", "key", "code", "authorization")
REDACTED = "[redacted]"


# A URL may carry a secret in its query (Ultramsg's webhook URL has `?token=`).
_SECRET_QUERY = re.compile(
    r"([?&][^=&#]*(?:" + "|".join(_SECRET_WORDS) + r")[^=&#]*=)[^&#]*", re.IGNORECASE
)


def redact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy with every value under a secret-looking key replaced (`has_access_token` and
    other booleans stay: they say whether, not what)."""
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        secret = any(word in key.lower() for word in _SECRET_WORDS) and not isinstance(value, bool)
        if secret and value not in (None, ""):
            out[key] = REDACTED
        elif isinstance(value, dict):
            out[key] = redact(value)
        elif isinstance(value, str) and "=" in value:
            out[key] = _SECRET_QUERY.sub(rf"\1{REDACTED}", value)
        else:
            out[key] = value
    return out


def actor_of(user: Any) -> tuple[str, int | None, str | None]:
    """(kind, id, name) of whoever is signed in: an agent, an API key or nobody."""
    if user is None:
        return "anonymous", None, None
    kind = "api_key" if type(user).__name__ == "ApiKeyPrincipal" else "agent"
    name = getattr(user, "email", None) or getattr(user, "name", None)
    return kind, getattr(user, "id", None), name


async def record(
    session: AsyncSession, action: str, *, user: Any = None,
    actor: tuple[str, int | None, str | None] | None = None, target_type: str | None = None,
    target_id: Any = None, before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None, source: str | None = None, detail: str | None = None,
) -> None:  # fmt: skip
    kind, actor_id, name = actor or actor_of(user)
    session.add(AuditEntry(
        actor_kind=kind, actor_id=actor_id, actor_name=(name or None) and str(name)[:254],
        action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        before=redact(before), after=redact(after), source=(source or None) and source[:64],
        detail=(detail or None) and detail[:500],
    ))  # fmt: skip


async def entries(
    session: AsyncSession, *, action: str | None = None, actor_id: int | None = None,
    target_type: str | None = None, target_id: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    before_id: int | None = None, limit: int = 100,
) -> list[AuditEntry]:  # fmt: skip
    query = select(AuditEntry)
    if action:
        query = query.where(col(AuditEntry.action).startswith(action))
    if actor_id is not None:
        query = query.where(col(AuditEntry.actor_id) == actor_id)
    if target_type:
        query = query.where(col(AuditEntry.target_type) == target_type)
    if target_id:
        query = query.where(col(AuditEntry.target_id) == target_id)
    if since:
        query = query.where(col(AuditEntry.at) >= since)
    if until:
        query = query.where(col(AuditEntry.at) < until)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    rows = await session.execute(query.order_by(col(AuditEntry.id).desc()).limit(limit))
    return list(rows.scalars())


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "at": entry.at.isoformat(),
        "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
        "action": entry.action, "target": {"type": entry.target_type, "id": entry.target_id},
        "before": entry.before, "after": entry.after, "source": entry.source,
        "detail": entry.detail,
    }  # fmt: skip
