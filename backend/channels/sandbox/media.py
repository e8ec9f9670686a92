"""The sandbox's media: Meta's media object, its short-lived Bearer-protected download URL, and
the upload endpoint, so files travel both ways with no Meta account.

Like Meta: `GET /{media_id}` (Bearer) answers `{"messaging_product", "url", "mime_type",
"sha256" (base64 of the SHA-256), "file_size", "id"}`; the URL works for five minutes and only
with the token of the number that owns the file; `POST /{phone_number_id}/media` (multipart
`file`, `type`, `messaging_product=whatsapp`) answers `{"id"}`. The bytes live in Redis for a few
days (the sandbox is a stand-in, never a store of record).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis

from backend.channels.sandbox.store import PREFIX, TTL_SECONDS

URL_LIFETIME_SECONDS = 300
LARGEST = 100 * 1024 * 1024
T = TypeVar("T")


def _a(result: Awaitable[T] | T) -> Awaitable[T]:
    assert inspect.isawaitable(result)
    return result


@dataclass(frozen=True)
class SandboxFile:
    media_id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    filename: str | None = None

    @property
    def sha256_b64(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()

    def media_object(self, url: str) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "url": url, "mime_type": self.mime_type,
                "sha256": self.sha256_b64, "file_size": str(len(self.data)), "id": self.media_id}  # fmt: skip


def new_media_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


class SandboxMedia:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def keep(
        self, phone_number_id: str, mime_type: str, data: bytes, filename: str | None = None
    ) -> SandboxFile:
        media = SandboxFile(new_media_id(), phone_number_id, mime_type, data, filename)
        key = f"{PREFIX}media:{media.media_id}"
        fields = {"phone_number_id": phone_number_id, "mime_type": mime_type, "data": data,
                  "filename": filename or ""}  # fmt: skip
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, TTL_SECONDS)
            await pipe.execute()
        return media

    async def get(self, media_id: str) -> SandboxFile | None:
        row: dict[bytes, bytes] = await _a(self._redis.hgetall(f"{PREFIX}media:{media_id}"))
        if not row:
            return None
        return SandboxFile(
            media_id, row[b"phone_number_id"].decode(), row[b"mime_type"].decode(), row[b"data"],
            row.get(b"filename", b"").decode() or None,
        )  # fmt: skip


def sign_url(secret: str, media_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{media_id}.{expires}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def download_url(
    base_url: str, secret: str, media_id: str, lifetime: float = URL_LIFETIME_SECONDS
) -> str:
    """Like Meta's lookaside URL: it names the file and stops working after `lifetime`."""
    expires = int(time.time() + lifetime)
    return f"{base_url}/sandbox/media-download/{media_id}?exp={expires}&hash={sign_url(secret, media_id, expires)}"


def url_is_valid(secret: str, media_id: str, expires: str, signature: str) -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(sign_url(secret, media_id, int(expires)), signature)
