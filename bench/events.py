"""Event commits across processes: does one transaction's length hold the others' commits?

Each writer process runs `--concurrency` loops of transactions through the app's own path (its
session factory, `record_event`, `commit_and_publish` with Redis): record an event, update a row of
its own, spend `--work-ms` (standing for the rest of a transaction's reads and round trips; a sleep,
so it costs no CPU), record a second event, commit. Printed for 1 and 2 processes on one fresh
PostgreSQL database: commits/s, events/s, p50/p99 transaction time, and the ratio 2 : 1.

`--code DIR` runs the writers on another checkout's `backend` (e.g. `--code /work/main` for the
code before a change), on the same database schema.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from _common import PYTHON, ROOT, Stack, log, machine, percentile


async def _writer(
    url: str, redis_url: str, tag: str, loops: int, work: float, seconds: float
) -> None:
    from redis.asyncio import Redis
    from sqlalchemy import update
    from sqlmodel import col

    from backend.db.engine import create_engine, create_session_factory
    from backend.realtime.events import commit_and_publish, record_event
    from backend.realtime.models import EventCursor

    engine = create_engine(url)
    sessions = create_session_factory(engine)
    redis = Redis.from_url(redis_url)
    names = [f"bench:{tag}:{n}" for n in range(loops)]
    async with sessions() as session:
        session.add_all(EventCursor(name=name, seq=0) for name in names)
        await session.commit()
    times: list[float] = []
    print("ready", flush=True)  # imports take seconds: every writer starts on the same signal
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    until = time.time() + seconds

    async def loop(name: str) -> None:
        n = 0
        while time.time() < until:
            started = time.perf_counter()
            async with sessions() as session:
                await record_event(session, "bench.event", {"loop": name, "n": n})
                await session.execute(
                    update(EventCursor).where(col(EventCursor.name) == name).values(seq=n)
                )
                await asyncio.sleep(work)
                await record_event(session, "bench.event", {"loop": name, "n": n, "second": True})
                await commit_and_publish(session, redis)
            times.append(time.perf_counter() - started)
            n += 1

    await asyncio.gather(*(loop(name) for name in names))
    await redis.aclose()
    await engine.dispose()
    print(json.dumps({"times": times}), flush=True)


def _run(stack: Stack, processes: int, args: argparse.Namespace, round_: int) -> dict[str, Any]:
    env = {**stack.env, "PYTHONPATH": args.code}
    command = [PYTHON, __file__, "--writer", stack.db.url, stack.env["REDIS_URL"]]
    options = [str(args.concurrency), str(args.work_ms / 1000), str(args.duration)]
    children = [
        subprocess.Popen([*command, f"{round_}-{p}", *options], env=env, cwd=args.code,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for p in range(processes)
    ]  # fmt: skip
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n", "a writer failed"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    times = [t for child in children for t in json.loads(child.communicate()[0])["times"]]
    if any(child.returncode for child in children):
        raise SystemExit("a writer failed")
    return {
        "commits": len(times) / args.duration,
        "p50": percentile(times, 50) * 1000,
        "p99": percentile(times, 99) * 1000,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        url, redis_url, tag, loops, work, seconds = sys.argv[2:]
        sys.path.insert(0, os.getcwd())
        asyncio.run(_writer(url, redis_url, tag, int(loops), float(work), float(seconds)))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=8, help="transactions open per process")
    parser.add_argument("--work-ms", type=float, default=20.0, help="work inside each transaction")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--code", default=str(ROOT), help="checkout whose backend the writers run")
    args = parser.parse_args()
    with Stack("postgres") as stack:
        print(f"Event commits across processes — {machine()}, PostgreSQL, code {args.code}, "
              f"{args.concurrency} transactions open per process, {args.work_ms:.0f} ms of work in "
              f"each, load avg {os.getloadavg()[0]:.1f} before the run")  # fmt: skip
        print(f"{'processes':>10} | {'commits/s':>9} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
        results: dict[int, list[float]] = {}
        for round_, processes in enumerate((1, 2, 1, 2)):
            log(f"{processes} process(es)")
            r = _run(stack, processes, args, round_)
            results.setdefault(processes, []).append(r["commits"])
            print(f"{processes:>10} | {r['commits']:>9.0f} {2 * r['commits']:>9.0f} "
                  f"{r['p50']:>7.1f} {r['p99']:>7.1f}", flush=True)  # fmt: skip
        one, two = (max(results[p]) for p in (1, 2))
        print(f"2 processes : 1 process = {two / one:.2f} (best of two rounds each; "
              f"load avg {os.getloadavg()[0]:.1f} at the end)")  # fmt: skip


if __name__ == "__main__":
    main()
