"""Where media bytes live: one small interface over obstore, for a local folder and any S3 store.

obstore (the Python face of the Rust `object_store` crate used by Arrow and Polars) speaks the
local file system and S3 through one API, with async streaming reads, byte ranges and multipart
uploads, so both deployments run the same code path; only `MEDIA_STORAGE_URL` differs.

Files are content-addressed: the key is the SHA-256 of the bytes, so a photo forwarded twice is
stored once, a re-run download overwrites nothing that differs, and the key proves the content.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import ObjectStore, from_url

from backend.config import Settings

CHUNK = 256 * 1024  # what a stream holds in memory at a time


class StorageError(Exception):
    """The store refused or could not be reached; the caller retries later."""


def _first_line(error: Exception) -> str:
    """obstore's messages carry a debug dump after the first line; the reason is the first."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def key_for(sha256_hex: str) -> str:
    return f"sha256/{sha256_hex[:2]}/{sha256_hex}"


@dataclass(frozen=True)
class Spooled:
    """Bytes written to a local temporary file while they were hashed and counted."""

    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for recognising the type

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Spool:
    """Collects a stream into a temporary file (never in memory), hashing as it goes."""

    def __init__(self, directory: Path, limit: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=directory, prefix="media-", suffix=".part")
        self._file = os.fdopen(handle, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = b""
        self.limit = limit

    def write(self, chunk: bytes) -> None:
        """Raises ValueError past the limit, so an oversized file stops as soon as it shows."""
        self._size += len(chunk)
        if self._size > self.limit:
            raise ValueError(f"larger than {self.limit} bytes")
        if len(self._head) < 4096:
            self._head += chunk[: 4096 - len(self._head)]
        self._hash.update(chunk)
        self._file.write(chunk)

    def close(self) -> Spooled:
        self._file.close()
        return Spooled(self._path, self._hash.hexdigest(), self._size, self._head)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class MediaStorage:
    def __init__(self, store: ObjectStore, spool_dir: Path, description: str) -> None:
        self._store = store
        self.spool_dir = spool_dir
        self.description = description

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStorage:
        url = settings.media_storage_url
        spool = settings.var_dir / "tmp"
        if url.startswith("file://"):
            root = Path(url.removeprefix("file://")).expanduser().resolve()
            root.mkdir(parents=True, exist_ok=True)
            return cls(from_url(root.as_uri(), mkdir=True), spool, f"file://{root}")
        config: dict[str, Any] = {}
        for key, value in (
            ("endpoint", settings.s3_endpoint_url),
            ("access_key_id", settings.aws_access_key_id),
            ("secret_access_key", settings.aws_secret_access_key),
            ("region", settings.aws_region),
        ):
            if value:
                config[key] = value
        client: dict[str, Any] = {"timeout": "60s", "connect_timeout": "5s"}
        if (settings.s3_endpoint_url or "").startswith("http://"):
            client["allow_http"] = True
        store: ObjectStore = cast(Any, from_url)(url, config=config, client_options=client)
        return cls(store, spool, url)

    def spool(self, limit: int) -> Spool:
        return Spool(self.spool_dir, limit)

    async def exists(self, sha256_hex: str) -> bool:
        try:
            await obstore.head_async(self._store, key_for(sha256_hex))
        except (NotFoundError, FileNotFoundError):
            return False
        except Exception as error:
            raise StorageError(_first_line(error)) from error
        return True

    async def keep(self, spooled: Spooled) -> None:
        """Stores a spooled file under its hash (once: an identical file is already there)."""
        try:
            if not await self.exists(spooled.sha256):
                await obstore.put_async(self._store, key_for(spooled.sha256), spooled.path)
        except StorageError:
            raise
        except Exception as error:
            raise StorageError(_first_line(error)) from error
        finally:
            spooled.discard()

    async def put_bytes(self, data: bytes) -> str:
        """Small files (tests, the sandbox); returns the hash."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            if not await self.exists(digest):
                await obstore.put_async(self._store, key_for(digest), data)
        except StorageError:
            raise
        except Exception as error:
            raise StorageError(_first_line(error)) from error
        return digest

    async def delete(self, sha256_hex: str) -> None:
        """Removes the file (an erased customer's media); a file already gone is fine."""
        try:
            await obstore.delete_async(self._store, key_for(sha256_hex))
        except NotFoundError:
            pass

    async def read_all(self, sha256_hex: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(sha256_hex)])

    async def read(
        self, sha256_hex: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes [start, end) in chunks; NotFoundError when the file is not there."""
        options: dict[str, Any] = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        result = await obstore.get_async(
            self._store,
            key_for(sha256_hex),
            options=options or None,  # type: ignore[arg-type]
        )
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)
