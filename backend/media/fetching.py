"""Fetching a file from the Cloud API in its two steps, streamed to a temporary file and checked.

`GET {base}/{media_id}` (Bearer) names a URL that lives about five minutes; `GET url` (the same
Bearer) gives the bytes. An expired URL answers 401/403/404/410: the media object is asked again
for a fresh one. The bytes go to disk as they arrive (never whole into memory), hashed on the way,
and must match Meta's `sha256` and `file_size` before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import httpx

from backend.media.kinds import LARGEST
from backend.media.storage import MediaStorage, Spooled

_EXPIRED = (401, 403, 404, 410)


class FetchError(Exception):
    """Why a file could not be fetched; `retryable` says whether a later try may succeed."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Fetched:
    spooled: Spooled
    mime_type: str | None


def expected_digest(value: Any) -> str | None:
    """Meta's sha256 as hex: it is documented as base64 of the digest; hex is accepted too."""
    if not isinstance(value, str) or not value:
        return None
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


async def _media_object(
    http: httpx.AsyncClient, base_url: str, media_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    try:
        response = await http.get(f"{base_url.rstrip('/')}/{media_id}", headers=headers)
    except httpx.TransportError as error:
        raise FetchError(
            f"Graph API unreachable: {type(error).__name__}", retryable=True
        ) from error
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict) and isinstance(body.get("url"), str):
        return body
    graph = body.get("error") if isinstance(body, dict) else None
    code = graph.get("code") if isinstance(graph, dict) else None
    message = graph.get("message") if isinstance(graph, dict) else None
    shown = f"media object: HTTP {response.status_code}" + (f", {code} {message}" if code else "")
    if response.status_code in (400, 404) and code in (100, 131052, None):
        # Unknown id: Meta no longer has the file (or never had it); no later try will help.
        raise FetchError(shown + " (the file is no longer available at WhatsApp)", retryable=False)
    raise FetchError(shown, retryable=True)


async def _download(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], storage: MediaStorage, limit: int,
    types: list[str] | None = None,
) -> Spooled | int:  # fmt: skip
    """The spooled bytes, or the HTTP status when the URL refused (perhaps expired); the answer's
    Content-Type is appended to `types` when given."""
    spool = storage.spool(limit)
    try:
        async with http.stream("GET", url, headers=headers) as response:
            if response.status_code in _EXPIRED:
                spool.abort()
                return response.status_code
            if not response.is_success:
                raise FetchError(f"download: HTTP {response.status_code}", retryable=True)
            if types is not None and response.headers.get("content-type"):
                types.append(response.headers["content-type"])
            async for chunk in response.aiter_bytes():
                spool.write(chunk)
    except ValueError as error:
        spool.abort()
        raise FetchError(f"the file is {error}", retryable=False) from error
    except httpx.TransportError as error:
        spool.abort()
        raise FetchError(f"download interrupted: {type(error).__name__}", retryable=True) from error
    except BaseException:
        spool.abort()
        raise
    return spool.close()


async def fetch_cloud_media(
    http: httpx.AsyncClient, storage: MediaStorage, *, base_url: str, access_token: str,
    media_id: str,
) -> Fetched:  # fmt: skip
    headers = {"Authorization": f"Bearer {access_token}"}
    info = await _media_object(http, base_url, media_id, headers)
    declared = _int(info.get("file_size"))
    limit = LARGEST
    if declared is not None and declared > LARGEST:
        raise FetchError(f"the file is {declared} bytes, over the {LARGEST} limit", retryable=False)
    outcome = await _download(http, info["url"], headers, storage, limit)
    if isinstance(outcome, int):  # the short-lived URL expired: a fresh one, once
        info = await _media_object(http, base_url, media_id, headers)
        outcome = await _download(http, info["url"], headers, storage, limit)
        if isinstance(outcome, int):
            raise FetchError(f"download: HTTP {outcome} on a fresh URL", retryable=True)
    expected = expected_digest(info.get("sha256"))
    if expected is not None and expected != outcome.sha256:
        outcome.discard()
        raise FetchError(
            "sha256 mismatch: the bytes are not the file WhatsApp named", retryable=True
        )
    if declared is not None and declared != outcome.size:
        outcome.discard()
        raise FetchError(f"size mismatch: got {outcome.size} of {declared} bytes", retryable=True)
    mime = info.get("mime_type")
    return Fetched(outcome, mime if isinstance(mime, str) else None)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


async def fetch_link(http: httpx.AsyncClient, storage: MediaStorage, url: str) -> Fetched:
    """A file named by a link (Ultramsg's media URLs): https only, so a webhook can never make
    the worker fetch from this machine's own network."""
    if not url.lower().startswith("https://"):
        raise FetchError("the file's link is not https; it is not fetched", retryable=False)
    types: list[str] = []
    outcome = await _download(http, url, {}, storage, LARGEST, types)
    if isinstance(outcome, int):
        raise FetchError(f"download: HTTP {outcome}", retryable=outcome not in (404, 410))
    return Fetched(outcome, types[0] if types else None)
