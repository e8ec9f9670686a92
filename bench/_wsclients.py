"""Websocket clients for bench/fanout.py, in their own process (the `websockets` library, uvloop).

stdin: one JSON line {"urls": ["ws://…/api/v1/ws?token=…", …], "connect_concurrency": 20,
"compression": "deflate" | null}. Connects every url, prints `ready <n>` (n = open sockets), then
records, for each `message.created` frame, the instant it arrived (time.monotonic, which is the
system-wide CLOCK_MONOTONIC, so the sender process's instants compare) by the message's
provider_message_id. A second stdin line (anything) closes every socket and prints one JSON object:
{"frames": total frames, "closed": sockets closed by the server, "seen": {wamid: [instants…]}}.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import threading
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

WAMID = re.compile(r'"provider_message_id":\s*"([^"]+)"')


async def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    spec = json.loads(sys.stdin.readline())
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    seen: dict[str, list[float]] = {}
    counters = {"frames": 0, "closed": 0, "open": 0, "failed": 0}
    gate = asyncio.Semaphore(int(spec.get("connect_concurrency", 20)))
    opened = asyncio.Event()
    total = len(spec["urls"])

    async def client(url: str) -> None:
        try:
            async with gate:
                ws = await connect(url, open_timeout=60, max_queue=None, ping_interval=None,
                                   compression=spec.get("compression", "deflate"))  # fmt: skip
        except Exception as error:
            counters["failed"] += 1
            print(f"connect failed: {type(error).__name__}: {error}", file=sys.stderr)
            if counters["open"] + counters["failed"] == total:
                opened.set()
            return
        counters["open"] += 1
        if counters["open"] + counters["failed"] == total:
            opened.set()
        receiver = asyncio.create_task(receive(ws))
        await stop.wait()
        receiver.cancel()
        await ws.close()

    async def receive(ws: object) -> None:
        try:
            async for raw in ws:  # type: ignore[attr-defined]
                now = time.monotonic()
                counters["frames"] += 1
                if '"message.created"' in raw:
                    found = WAMID.search(raw)
                    if found:
                        seen.setdefault(found.group(1), []).append(now)
        except ConnectionClosed:
            counters["closed"] += 1

    def wait_stdin() -> None:
        sys.stdin.readline()
        loop.call_soon_threadsafe(stop.set)

    tasks = [asyncio.create_task(client(url)) for url in spec["urls"]]
    await opened.wait()
    print(f"ready {counters['open']} {counters['failed']}", flush=True)
    threading.Thread(target=wait_stdin, daemon=True).start()
    await stop.wait()
    await asyncio.wait(tasks, timeout=30)
    sys.stdout.write(json.dumps({"frames": counters["frames"], "closed": counters["closed"],
                                 "seen": seen}) + "\n")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
