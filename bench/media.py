"""Inbound media: customers send images of 1 MB; the worker fetches every one from the Graph API.

    .venv/bin/python bench/media.py [--database sqlite|postgres] [--images 200] [--size-mb 1]
                                    [--concurrency 8] [--workers 1]

Starts everything itself: a fresh database, an embedded Redis, one `switchboard web` (the sandbox
is its Graph API, so every file travels the real two steps: media object, then the Bearer-protected
URL) and --workers workers, with MEDIA_STORAGE_URL a folder in the bench's temp dir. The customers
send --images distinct JPEG-headed files of --size-mb through POST /sandbox/api/inbound (so the
sandbox stores them and delivers signed webhooks). The bench samples the web and worker processes'
resident memory (VmRSS) every 0.2 s and reports: all stored?, the time from the first send to the
last file stored, files/s and MB/s, and memory before, at peak and after.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import threading
import time
from pathlib import Path

import httpx
from _common import Stack, log, machine


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Sampler(threading.Thread):
    """Resident memory of some processes, every 0.2 s, until stopped."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.samples: dict[str, list[float]] = {name: [] for name in pids}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for name, pid in self.pids.items():
                self.samples[name].append(rss_mb(pid))
            self.done.wait(0.2)


def image(size: int, n: int) -> bytes:
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return header + n.to_bytes(8, "big") + os.urandom(size - len(header) - 8)


async def send_all(base: str, images: int, size: int, concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(http: httpx.AsyncClient, n: int) -> None:
        nonlocal failures
        media = {"type": "image", "mime_type": "image/jpeg",
                 "data": base64.b64encode(image(size, n)).decode(), "caption": f"bench {n}"}  # fmt: skip
        async with gate:
            response = await http.post(f"{base}/sandbox/api/inbound", json={
                "from": f"4917{n:09d}", "name": f"Bench {n}", "media": media})  # fmt: skip
        if response.status_code != 200 or response.json().get("webhook_status") != 200:
            failures += 1
            log(f"  send {n}: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(timeout=120) as http:
        await asyncio.gather(*(one(http, n) for n in range(images)))
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    size = int(args.size_mb * 1024 * 1024)

    with Stack(args.database, log_level="WARNING") as stack:
        stack.env["MEDIA_STORAGE_URL"] = f"file://{stack.workdir / 'media'}"
        port, web = stack.start_web()
        workers = [stack.start_worker() for _ in range(args.workers)]
        time.sleep(3)  # the workers connect
        base = f"http://127.0.0.1:{port}"
        pids = {"web": web.pid, **{f"worker{i + 1}": w.pid for i, w in enumerate(workers)}}
        sampler = Sampler(pids)
        before = {name: rss_mb(pid) for name, pid in pids.items()}
        sampler.start()
        started = time.monotonic()
        failures = asyncio.run(send_all(base, args.images, size, args.concurrency))
        sent_in = time.monotonic() - started
        deadline = started + 600
        stored = 0
        while time.monotonic() < deadline:
            stored = int(
                stack.db.scalar("select count(*) from message_media where state = 'stored'")
            )
            failed = int(
                stack.db.scalar("select count(*) from message_media where state = 'failed'")
            )
            if stored + failed >= args.images - failures:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        time.sleep(2)
        sampler.done.set()
        sampler.join()
        after = {name: rss_mb(pid) for name, pid in pids.items()}
        files = sum(1 for _ in (stack.workdir / "media").rglob("*") if _.is_file())

    total_mb = args.images * size / 1024 / 1024
    print(f"machine: {machine()}; database: {args.database}; workers: {args.workers}")
    print(f"{args.images} images of {args.size_mb:g} MB, {args.concurrency} customers at a time")
    print(f"sent in {sent_in:.1f} s ({failures} refused); stored {stored}/{args.images} "
          f"(files in storage: {files}); failed {failed}")  # fmt: skip
    print(f"first send to last file stored: {elapsed:.1f} s "
          f"({stored / elapsed:.1f} files/s, {stored * size / 1024 / 1024 / elapsed:.1f} MB/s)")  # fmt: skip
    for name in pids:
        peak = max(sampler.samples[name] or [float("nan")])
        print(
            f"{name:>8} RSS MB: before {before[name]:.0f}, peak {peak:.0f}, after {after[name]:.0f}"
        )
    if stored != args.images:
        raise SystemExit("not every image was stored")
    log(f"({total_mb:.0f} MB in all)")


if __name__ == "__main__":
    main()
