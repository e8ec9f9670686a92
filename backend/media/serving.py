"""Serving a stored file to an agent: safe headers, and byte ranges so audio and video can seek.

A customer's file is untrusted content on our origin: `nosniff` and `Content-Security-Policy:
sandbox` keep a browser from running it, and any type a browser would render as a page (HTML,
SVG, scripts) is only ever a download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from backend.media.kinds import served_inline


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


class Unsatisfiable(Exception):
    """The range lies outside the file (416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range (RFC 9110 §14.1.2); None means the whole file (no header, several
    ranges, or a malformed one, which a server may ignore)."""
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - length), size)
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = min(size, int(last) + 1) if last else size
    if end <= start:
        return None
    return ByteRange(start, end)


def content_disposition(filename: str, mime_type: str) -> str:
    mode = "inline" if served_inline(mime_type) else "attachment"
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "file"
    return f"{mode}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_headers(filename: str, mime_type: str, sha256: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(filename, mime_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
        "ETag": f'"{sha256}"',
    }
