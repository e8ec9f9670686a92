"""Real, small media files made in code: a PNG any browser draws, an Ogg Opus voice note any
browser plays (with a known duration), and the first bytes of the other WhatsApp types."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))  # fmt: skip


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(serial: int, sequence: int, granule: int, packets: list[bytes], flags: int) -> bytes:
    lacing = b""
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


SILENCE = b"\xf8\xff\xfe"  # one 20 ms Opus frame (CELT, fullband) of silence


def ogg_opus(seconds: float = 2.0) -> bytes:
    """A voice note as WhatsApp sends them (Ogg container, Opus codec, 48 kHz, mono)."""
    serial, pre_skip = 0x5B0A, 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 11) + b"switchboard" + struct.pack("<I", 0)
    pages = [_ogg_page(serial, 0, 0, [head], 0x02), _ogg_page(serial, 1, 0, [tags], 0)]
    frames, granule, sequence = round(seconds * 50), pre_skip, 2
    for start in range(0, frames, 50):
        count = min(50, frames - start)
        granule += 960 * count
        last = start + count >= frames
        pages.append(_ogg_page(serial, sequence, granule, [SILENCE] * count, 0x04 if last else 0))
        sequence += 1
    return b"".join(pages)


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 32
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>"
       b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")  # fmt: skip
