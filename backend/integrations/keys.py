"""API keys: made once, shown once, kept as a hash, refused the moment they are revoked.

A key is `sbk_` and 43 random URL-safe characters (256 bits), so one SHA-256 is as good as a slow
password hash against a stolen table, and it lets every request find its key by an indexed lookup.
Revocation is a column read on every request: there is no cache to outlive it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.audit.changes import config_changed
from backend.core.errors import ServiceError
from backend.db.types import utcnow
from backend.integrations.models import ApiKey, Scope

KEY_PREFIX = "sbk_"
SCOPES = tuple(scope.value for scope in Scope)
# `last_used_at` is written at most this often per key, so a busy key is not a write per request.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who a request is when it carries an API key instead of an agent's session."""

    id: int
    name: str
    scopes: frozenset[str]
    rate_per_minute: int

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _checked_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ServiceError(422, f"give at least one scope of {', '.join(SCOPES)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ServiceError(
            422, f"unknown scope {', '.join(unknown)}: the scopes are {', '.join(SCOPES)}"
        )
    return [scope for scope in SCOPES if scope in scopes]


async def create_key(
    session: AsyncSession, *, name: str, scopes: list[str], rate_per_minute: int,
    created_by: int | None, by: Any = None,
) -> tuple[ApiKey, str]:  # fmt: skip
    """The stored key and the raw key, which the caller shows once and never again; audited and
    announced (`api_key.created`, to admins)."""
    if not name.strip():
        raise ServiceError(422, "a key needs a name")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(), prefix=raw[: len(KEY_PREFIX) + 6], key_hash=hash_key(raw),
        scopes=_checked_scopes(scopes), rate_per_minute=rate_per_minute,
        created_by_agent_id=created_by,
    )  # fmt: skip
    session.add(key)
    await session.flush()
    await config_changed(
        session, "api_key.created", by=by, target_id=key.id,
        after={"name": key.name, "scopes": list(key.scopes)}, data=_announced(key),
    )  # fmt: skip
    return key, raw


def _announced(key: ApiKey) -> dict[str, Any]:
    """What the live event says: which key, never any part of the key itself (nor the word
    `key` as a field, which redaction would blank)."""
    return {"id": key.id, "name": key.name}


async def list_keys(session: AsyncSession, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(col(ApiKey.id))
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    return list((await session.execute(query)).scalars())


async def revoke_key(session: AsyncSession, key_id: int, *, by: Any = None) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise ServiceError(404, "no such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
        await config_changed(session, "api_key.revoked", by=by, target_id=key_id,
                             before={"name": key.name}, data=_announced(key))  # fmt: skip
    return key


async def authenticate_key(session: AsyncSession, raw: str) -> ApiKeyPrincipal | None:
    """The key's principal, or None when it is unknown or revoked; notes when it was last used."""
    key = (
        await session.execute(select(ApiKey).where(col(ApiKey.key_hash) == hash_key(raw)))
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        key.last_used_at = now
        await session.commit()
    assert key.id is not None
    return ApiKeyPrincipal(key.id, key.name, frozenset(key.scopes), key.rate_per_minute)
