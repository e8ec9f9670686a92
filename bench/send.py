"""Outbound: agents' replies through arq workers to the built-in sandbox, under the per-number limit.

    .venv/bin/python bench/send.py [--database sqlite|postgres] [--messages 400] [--conversations 40]
                                   [--rate 20] [--workers 2]

Starts everything itself: a fresh database, an embedded Redis, one `switchboard web` (sandbox on,
WHATSAPP_API_BASE_URL unset, so the Graph API is this server's /sandbox/graph) with
SEND_RATE_PER_SECOND=--rate. Then, through the public surface only: `switchboard create-agent` makes
an admin, the admin creates one agent (capacity 100, team General) over the API, customers write in
through POST /sandbox/api/inbound, the agent claims each conversation and POSTs the replies (each with
an Idempotency-Key) while no worker runs, so all of them wait `queued`. Then --workers workers start
and the bench watches what the sandbox received (GET /sandbox/api/messages?wa_id=…, its `received_at`
per message): sustained send rate, the most sends in any 1-second window (sliding, and per wall-clock
second), and how long the whole queue took to drain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from typing import Any

import httpx
from _common import Stack, log, machine

MARK = "bench-reply"


def iso(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most events in any half-open window [t, t + width) — the sliding 1-second count."""
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


async def prepare(
    base: str, stack: Stack, conversations: int, messages: int
) -> tuple[list[str], float]:
    stack.cli("create-agent", "--email", "admin@bench.test", "--password", "bench-password",
              "--name", "Bench Admin", "--role", "admin", "--team", "General")  # fmt: skip
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        admin = (await http.post("/api/v1/auth/login", json={"email": "admin@bench.test",
                                                             "password": "bench-password"})).json()  # fmt: skip
        http.cookies.clear()
        created = await http.post("/api/v1/agents/", headers={"Authorization": f"Bearer {admin['token']}"},
                                  json={"email": "sender@bench.test", "password": "bench-password",
                                        "name": "Bench Sender", "teams": ["General"], "capacity": 100})  # fmt: skip
        assert created.status_code == 201, created.text
        login = (await http.post("/api/v1/auth/login", json={"email": "sender@bench.test",
                                                             "password": "bench-password"})).json()  # fmt: skip
        http.cookies.clear()
        auth = {"Authorization": f"Bearer {login['token']}"}
        wa_ids = [f"4915{n:08d}" for n in range(conversations)]
        gate = asyncio.Semaphore(8)

        async def inbound(wa_id: str) -> None:
            async with gate:
                answer = await http.post("/sandbox/api/inbound", json={
                    "from": wa_id, "name": f"Customer {wa_id[-4:]}", "text": "Hello, I need help"})  # fmt: skip
                assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, (
                    answer.text
                )

        await asyncio.gather(*(inbound(w) for w in wa_ids))
        listed = (
            await http.get("/api/v1/conversations", params={"status": "queued"}, headers=auth)
        ).json()
        ids = [c["id"] for c in listed["items"] if c["contact"]["wa_id"] in set(wa_ids)]
        assert len(ids) == conversations, (
            f"expected {conversations} queued conversations, got {len(ids)}"
        )
        for cid in ids:
            claimed = await http.post(f"/api/v1/conversations/{cid}/claim", headers=auth)
            assert claimed.status_code == 200, claimed.text

        t0 = time.monotonic()

        async def reply(n: int) -> None:
            cid = ids[n % len(ids)]
            async with gate:
                answer = await http.post(f"/api/v1/conversations/{cid}/messages", headers={
                    **auth, "Idempotency-Key": f"bench-{n}"}, json={"text": f"{MARK} {n}: thanks, on it"})  # fmt: skip
                assert answer.status_code == 202 and answer.json()["status"] == "queued", (
                    answer.text
                )

        await asyncio.gather(*(reply(n) for n in range(messages)))
        return wa_ids, time.monotonic() - t0


async def received(base: str, wa_ids: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        rows: list[dict[str, Any]] = []
        for wa_id in wa_ids:
            answer = await http.get("/sandbox/api/messages", params={"wa_id": wa_id})
            rows += [
                r
                for r in answer.json()
                if MARK in str(r.get("body", {}).get("text", {}).get("body", ""))
            ]
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument(
        "--conversations", type=int, default=40, help="replies are spread over these"
    )
    parser.add_argument(
        "--rate", type=int, default=20, help="SEND_RATE_PER_SECOND (the per-number limit)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=150.0, help="give up draining after this")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    started = time.monotonic()
    env = {"SEND_RATE_PER_SECOND": str(args.rate)}
    with Stack(args.database, extra_env=env, keep=args.keep) as stack:
        port, _ = stack.start_web()
        base = f"http://127.0.0.1:{port}"
        wa_ids, queue_seconds = asyncio.run(prepare(base, stack, args.conversations, args.messages))
        queued = int(stack.db.scalar(
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'queued'"))  # fmt: skip
        log(f"{queued} replies queued in {queue_seconds:.1f} s; starting {args.workers} worker(s)")
        t_workers = time.time()
        for _ in range(args.workers):
            stack.start_worker()
        deadline = time.monotonic() + args.timeout
        rows: list[dict[str, Any]] = []
        progress: list[tuple[float, int]] = []
        while time.monotonic() < deadline:
            time.sleep(2.0)
            rows = asyncio.run(received(base, wa_ids))
            progress.append((time.time() - t_workers, len(rows)))
            if len(rows) >= args.messages:
                break
        times = sorted(iso(r["received_at"]) for r in rows)
        states = stack.db.scalar(
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered', 'read')"
        )
        dupes = len(rows) - len({r["body"]["text"]["body"] for r in rows})

        print(
            f"Switchboard send bench — {machine()}, database {args.database}, load avg {os.getloadavg()[0]:.1f}"
        )
        print(f"SEND_RATE_PER_SECOND={args.rate}, {args.workers} worker(s) (arq, max_jobs 20 each), "
              f"{args.messages} replies over {args.conversations} conversations, queued before the workers start "
              f"(queued through the API in {queue_seconds:.1f} s = {args.messages / queue_seconds:.0f} replies/s)")  # fmt: skip
        if len(times) >= 2:
            span = times[-1] - times[0]
            sustained = (len(times) - 1) / span if span else float("inf")
            per_second: dict[int, int] = {}
            for t in times:
                per_second[int(t)] = per_second.get(int(t), 0) + 1
            steady = times[args.rate * 2 :] if len(times) > args.rate * 4 else times
            print(
                f"  received by the sandbox: {len(times)}/{args.messages} in {span:.1f} s "
                f"(first one {times[0] - t_workers:.1f} s after the workers were started)"
            )
            print(f"  sustained rate: {sustained:.1f}/s (limit {args.rate}/s)")
            print(
                f"  most in any sliding 1-s window: {max_in_window(times)} overall, "
                f"{max_in_window(steady)} after the first {args.rate * 2} sends (the initial bucket of "
                f"{args.rate} tokens may go at once); most in one wall-clock second: {max(per_second.values())}"
            )
            print(
                "  per wall-clock second: "
                + " ".join(str(per_second[k]) for k in sorted(per_second))
            )
        print(
            "  progress (s after start: received): "
            + ", ".join(f"{t:.0f}:{n}" for t, n in progress)
        )
        jobs = {"sent": 0, "not mine": 0}
        for name in [n for n, _ in stack.processes if n.startswith("worker")]:
            text = (stack.workdir / f"{name}.log").read_text(errors="replace")
            for outcome in jobs:
                jobs[outcome] += text.count(f"send_message \\u25cf '{outcome}'") + text.count(
                    f"send_message ● '{outcome}'"
                )
        print(
            f"  send jobs (from the workers' logs): {jobs['sent']} sent, {jobs['not mine']} 'not mine' "
            "(each of those also took a rate-limit token)"
        )
        print(
            f"  database: {states} of {args.messages} replies sent/delivered/read; duplicates at the sandbox: {dupes}"
        )
        print(f"(run took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
