"""`X-Hub-Signature-256`: HMAC-SHA256 of the raw request body, keyed by the app secret.

Meta signs the bytes it sent (non-ASCII escaped as `\\u00e4`); re-serializing parsed JSON would
produce different bytes, so both sides here only ever see the raw body.
"""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{_PREFIX}{digest}"


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True only for a well-formed header whose digest matches; constant-time comparison."""
    given = (header or "").strip().lower()
    if not secret or not given.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret).encode(), given.encode())
