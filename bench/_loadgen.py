"""A lean webhook load generator: raw asyncio HTTP/1.1 with keep-alive, uvloop, its own process.

Reads one JSON spec on stdin, prints one JSON result on stdout. Bodies are real Cloud API webhooks
(built by backend.channels.sandbox.webhooks, the shapes Meta sends), signed with the app secret,
each message with a fresh wamid, and all built before the clock starts so that building them
costs nothing during the measurement.

Modes:
  closed — `concurrency` connections, each sends the next webhook as soon as the last one is answered;
  rate   — one webhook every 1/`rate` s on a pool of `concurrency` connections; latency counts from
           the scheduled instant (no coordinated omission: a late send shows up as latency).

Spec keys: port (or ports: several servers, the requests spread over them round-robin — request
i goes to ports[i % len(ports)], each closed-loop worker holding one keep-alive connection to each,
each rate-mode pool split evenly among them), mode, concurrency, duration, rate, batch, customers
(pool size), customer_offset, max_requests, record (keep each wamid's send instant, for the fan-out bench), secret, seed;
statuses: [[wamid, recipient], ...] sends delivery statuses instead of customer messages — each
message's `sent`, then every `delivered`, then every `read`, `batch` statuses per webhook, as a
template sent to many customers comes back (bench/statuses.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.channels.sandbox.webhooks import new_wamid, status_webhook, text_message_webhook
from backend.channels.whatsapp.signature import sign

TEXTS = [
    "Hi, my order hasn't arrived yet",
    "Can I change the delivery address for order 48213?",
    "hello",
    "I was charged twice for the same order, can someone help me please? The order number is 99812.",
    "thanks!",
    "Do you ship to Portugal?",
    "My password reset link doesn't work",
    "I'd like to return the blue jacket, it is too small",
]


def build_body(spec: dict[str, Any], rng: random.Random) -> tuple[bytes, list[str]]:
    """One webhook with `batch` messages (one entry, one change, like Meta batches them)."""
    number = spec.get("phone_number_id", "sandbox")
    batch = int(spec.get("batch", 1))
    customers = int(spec.get("customers", 1000))
    offset = int(spec.get("customer_offset", 0))
    now = int(time.time())
    contacts: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(batch):
        n = offset + rng.randrange(customers)
        wa_id = f"44770{n:07d}"
        single = text_message_webhook(number, wa_id, f"Customer {n}", rng.choice(TEXTS),
                                      wamid=new_wamid(), timestamp=now)  # fmt: skip
        value = single["entry"][0]["changes"][0]["value"]
        if wa_id not in seen:
            contacts.extend(value["contacts"])
            seen.add(wa_id)
        messages.extend(value["messages"])
    value["contacts"], value["messages"] = contacts, messages
    raw = json.dumps(single, separators=(",", ":")).encode()
    return raw, [m["id"] for m in messages]


def status_bodies(spec: dict[str, Any]) -> list[tuple[bytes, list[str]]]:
    """The whole storm, built up front: (body, the status ids it carries) per webhook."""
    number = spec.get("phone_number_id", "sandbox")
    batch = int(spec.get("batch", 1))
    now = int(time.time())
    items: list[tuple[dict[str, Any], str]] = []
    for offset, kind in enumerate(("sent", "delivered", "read")):
        for wamid, recipient in spec["statuses"]:
            one = status_webhook(number, wamid, kind, recipient, timestamp=now + offset)
            items.append((one["entry"][0]["changes"][0]["value"]["statuses"][0], f"{wamid}:{kind}"))
    bodies = []
    for start in range(0, len(items), batch):
        part = items[start : start + batch]
        envelope = status_webhook(number, "x", "sent", None, timestamp=now)
        envelope["entry"][0]["changes"][0]["value"]["statuses"] = [item for item, _ in part]
        raw = json.dumps(envelope, separators=(",", ":")).encode()
        bodies.append((raw, [key for _, key in part]))
    return bodies


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Run:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.ports = [int(p) for p in spec.get("ports", [spec.get("port")])]
        self.port = int(spec.get("port", self.ports[0]))
        self.path = spec.get("path", "/webhooks/whatsapp")
        self.secret = spec.get("secret", "sandbox-secret")
        rng = random.Random(spec.get("seed"))
        self.counts = "statuses" if "statuses" in spec else "messages"
        self.bodies = (
            status_bodies(spec)
            if self.counts == "statuses"
            else [build_body(spec, rng) for _ in range(int(spec["max_requests"]))]
        )
        self.heads = [self._head(raw) for raw, _ in self.bodies]
        self.next = 0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.messages_ok = 0
        self.accepted = 0
        self.duplicates = 0
        self.errors = 0
        self.answered_messages = 0
        self.abandoned = 0
        self.sent_at: dict[str, float] = {}
        self.record = bool(spec.get("record"))

    def _head(self, raw: bytes) -> bytes:
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nX-Hub-Signature-256: {sign(raw, self.secret)}\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n"
        ).encode()

    async def one(self, conn: Connection, index: int, started: float) -> None:
        raw, wamids = self.bodies[index]
        if self.record:
            now = time.monotonic()
            for wamid in wamids:
                self.sent_at[wamid] = now
        try:
            status, payload = await conn.post(self.heads[index], raw)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            self.errors += 1
            return
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.answered_messages += len(wamids)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.messages_ok += len(wamids)
            try:
                answer = json.loads(payload)
                self.accepted += int(answer.get(self.counts, 0))
                self.duplicates += int(answer.get("duplicates", 0))
            except ValueError:
                pass

    async def closed(self) -> None:
        concurrency = int(self.spec["concurrency"])
        # Each worker holds one connection to every server and sends request i to ports[i % n]:
        # round-robin by request, as a balancer in front of the web processes would.
        workers = [[Connection(port) for port in self.ports] for _ in range(concurrency)]
        await asyncio.gather(*(c.open() for conns in workers for c in conns))
        end = time.perf_counter() + float(self.spec["duration"])

        async def loop(conns: list[Connection]) -> None:
            while time.perf_counter() < end and self.next < len(self.bodies):
                index = self.next
                self.next += 1
                await self.one(conns[index % len(conns)], index, time.perf_counter())

        self._cpu_start()
        await asyncio.gather(*(loop(conns) for conns in workers))
        self._cpu_stop()
        for conns in workers:
            for conn in conns:
                conn.close()

    def _cpu_start(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu0 = usage.ru_utime + usage.ru_stime
        self.t0 = time.perf_counter()

    def _cpu_stop(self) -> None:
        self.elapsed = time.perf_counter() - self.t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu_s = usage.ru_utime + usage.ru_stime - self.cpu0

    async def rate(self) -> None:
        rate = float(self.spec["rate"])
        total = min(len(self.bodies), int(rate * float(self.spec["duration"])))
        # One pool per server, the connections split evenly; request i waits for an idle
        # connection of ports[i % n] (round-robin by request).
        pools: list[asyncio.Queue[Connection]] = [asyncio.Queue() for _ in self.ports]
        conns = [
            Connection(self.ports[i % len(self.ports)])
            for i in range(max(int(self.spec["concurrency"]), len(self.ports)))
        ]
        await asyncio.gather(*(c.open() for c in conns))
        for i, conn in enumerate(conns):
            pools[i % len(self.ports)].put_nowait(conn)
        tasks: set[asyncio.Task[None]] = set()

        async def fire(index: int, scheduled: float) -> None:
            idle = pools[index % len(pools)]
            conn = await idle.get()
            try:
                await self.one(conn, index, scheduled)
            finally:
                idle.put_nowait(conn)

        self._cpu_start()
        for index in range(total):
            scheduled = self.t0 + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(fire(index, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        # An overloaded server must not stretch the run: what is unanswered `drain` s after the last
        # scheduled send is reported as abandoned (the server may still store it).
        if tasks:
            await asyncio.wait(tasks, timeout=float(self.spec.get("drain", 20)))
        self._cpu_stop()
        self.abandoned = sum(len(self.bodies[i][1]) for i in range(total)) - self.answered_messages
        for task in list(tasks):
            task.cancel()
        for conn in conns:
            conn.close()

    def result(self) -> dict[str, Any]:
        out = {
            "requests": len(self.latencies), "elapsed": self.elapsed, "statuses": self.statuses,
            "messages_ok": self.messages_ok, "accepted": self.accepted,
            "duplicates": self.duplicates, "errors": self.errors, "abandoned": self.abandoned,
            "latencies_ms": self.latencies, "cpu_s": self.cpu_s,
        }  # fmt: skip
        if self.record:
            out["sent_at"] = self.sent_at
        return out


async def main() -> None:
    spec = json.loads(sys.stdin.read())
    run = Run(spec)
    await (run.closed() if spec["mode"] == "closed" else run.rate())
    sys.stdout.write(json.dumps(run.result()))


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
