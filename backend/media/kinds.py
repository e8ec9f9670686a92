"""WhatsApp's media types and limits, and recognising a file's type from its bytes.

The Cloud API refuses a file whose type or size is wrong only when the message is sent, long after
the agent pressed Send; checking at upload turns that into an immediate 413 or 422 that says why.
The type comes from the bytes (puremagic's signatures), not from the name or the browser's guess:
a renamed script must not travel as a "photo".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import puremagic

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")

MB = 1024 * 1024
LIMITS = {"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB, "document": 100 * MB,
          "sticker": 500 * 1024}  # fmt: skip
LARGEST = max(LIMITS.values())

# Office files are ZIP or OLE2 containers: the bytes say "container", the name says which.
_DOCUMENT_BY_EXTENSION = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
}
_ZIP_DOCUMENTS = (".docx", ".xlsx", ".pptx")
_OLE_DOCUMENTS = (".doc", ".xls", ".ppt")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Types a browser would run or render as a page: never shown inline, whatever is stored.
ACTIVE_TYPES = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript",
                "application/javascript", "text/xml", "application/xml")  # fmt: skip
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/", "video/",
                "application/pdf", "text/plain")  # fmt: skip


@dataclass(frozen=True)
class Recognised:
    kind: str
    mime_type: str


class Refused(Exception):
    """The file is not one WhatsApp takes; `status` is 413 (too large) or 422 (type)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _extensions(head: bytes) -> set[str]:
    try:
        return {match.extension for match in puremagic.magic_string(head)}
    except puremagic.PureError:
        return set()


def recognise(head: bytes, filename: str) -> Recognised:
    """The WhatsApp kind and MIME type of a file from its first bytes; Refused(422) otherwise."""
    found = _extensions(head)
    suffix = PurePath(filename).suffix.lower()
    if ".png" in found:
        return Recognised("image", "image/png")
    if found & {".jpg", ".jpeg"}:
        return Recognised("image", "image/jpeg")
    if ".webp" in found:
        return Recognised("sticker", "image/webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"3g"):
            return Recognised("video", "video/3gpp")
        if brand in (b"M4A ", b"M4B "):
            return Recognised("audio", "audio/mp4")
        return Recognised("video", "video/mp4")
    if head.startswith(b"OggS"):
        if b"OpusHead" in head:
            return Recognised("audio", "audio/ogg")
        raise Refused(422, "an OGG file must carry Opus audio (WhatsApp plays no other OGG)")
    if head.startswith(b"#!AMR"):
        return Recognised("audio", "audio/amr")
    if ".mp3" in found or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return Recognised("audio", "audio/mpeg")
    if ".aac" in found:
        return Recognised("audio", "audio/aac")
    if ".pdf" in found:
        return Recognised("document", "application/pdf")
    if head.startswith(b"PK\x03\x04") and suffix in _ZIP_DOCUMENTS:
        return Recognised("document", _DOCUMENT_BY_EXTENSION[suffix])
    if head.startswith(_OLE_MAGIC) and suffix in _OLE_DOCUMENTS:
        return Recognised("document", _DOCUMENT_BY_EXTENSION[suffix])
    if suffix == ".txt" and _is_text(head):
        return Recognised("document", "text/plain")
    raise Refused(
        422,
        "WhatsApp accepts images (JPEG, PNG), stickers (WebP), video (MP4, 3GPP), audio (AAC, "
        "AMR, MP3, MP4, OGG Opus) and documents (PDF, Word, Excel, PowerPoint, text); "
        "this file is none of them",
    )


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start > len(head) - 4  # a character cut at the end of the sample
    return not head.lstrip().lower().startswith((b"<html", b"<!doctype", b"<svg", b"<?xml"))


def check_size(kind: str, size: int) -> None:
    limit = LIMITS[kind]
    if size > limit:
        raise Refused(413, f"{kind} files may be at most {_shown(limit)} on WhatsApp; this one is {_shown(size)}")  # fmt: skip


def _shown(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size / 1024:.0f} KB"


def served_inline(mime_type: str) -> bool:
    base = mime_type.split(";")[0].strip().lower()
    if base in ACTIVE_TYPES or "script" in base or "html" in base or "svg" in base:
        return False
    return any(base == t or (t.endswith("/") and base.startswith(t)) for t in INLINE_TYPES)


def default_filename(kind: str, mime_type: str | None, message_id: int) -> str:
    extension = {
        "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4",
        "video/3gpp": ".3gp", "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a",
        "audio/aac": ".aac", "audio/amr": ".amr", "application/pdf": ".pdf", "text/plain": ".txt",
    }.get((mime_type or "").split(";")[0].strip(), "")  # fmt: skip
    return f"{kind}-{message_id}{extension}"
