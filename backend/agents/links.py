"""One-time set-password links: an admin hands a new agent (or one who forgot) a link instead of
a password.

The token is not a session token (its own HMAC format, not a JWT), so it can never sign anyone
in. It names the agent, their session epoch and an expiry; setting the password raises the epoch
(`services.set_password`), so a link works once, and any later password change or deactivation
also ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from backend.db.types import utcnow

LINK_HOURS = 72
_PURPOSE = b"switchboard:set-password:"


def _sign(key: str, payload: bytes) -> str:
    digest = hmac.new(key.encode(), _PURPOSE + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(
    key: str, agent_id: int, epoch: int, now: datetime | None = None
) -> tuple[str, datetime]:
    """The token and when it expires."""
    expires = (now or utcnow()) + timedelta(hours=LINK_HOURS)
    payload = f"{agent_id}.{epoch}.{int(expires.timestamp())}".encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(key, payload)}", expires


def read_token(key: str, token: str, now: datetime | None = None) -> tuple[int, int] | None:
    """(agent id, epoch) of a genuine, unexpired token; None otherwise (the caller still checks
    that the epoch is the agent's current one)."""
    try:
        body, signature = token.strip().split(".")
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        agent_id, epoch, expires = (int(part) for part in payload.decode().split("."))
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(signature, _sign(key, payload)):
        return None
    if (now or utcnow()).timestamp() >= expires:
        return None
    return agent_id, epoch
