"""Webhook ingest: signed Cloud API webhooks against `switchboard web`, next to a bare HMAC endpoint.

    .venv/bin/python bench/ingest.py [--database sqlite|postgres] [--levels 1,8,32,64]
                                     [--batch-levels 4,16] [--duration 4] [--rate 500] [--rate-seconds 10]
                                     [--web 1]

Starts everything itself: a fresh database (migrated), an embedded Redis, `--web` `switchboard web`
processes on that one database, and bench/bare_app.py under uvicorn; the load generator
(bench/_loadgen.py) runs in its own process, on the same 2 cores. Phases, each measured against
both servers in this run (with `--web 2` or more: one process, then all of them with the requests
spread round-robin, and the ratio of the two):
  1. single-message webhooks, closed loop, rising concurrency: messages/s, p50, p99;
  2. webhooks carrying 10 messages each (one entry, one change, ten messages), same;
  3. open loop at a fixed rate (default 500 webhooks/s for 10 s): p50, p99 from the scheduled instant.
At the end every accepted message must be a row in `messages` (a 200 means durably stored).
Under each row: the CPU each process used (cores busy over the phase, from /proc/PID/stat), the
PostgreSQL backends', the load generator's and the whole machine's, and the load average — what
bounds the figure on a machine shared with the load generator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from _common import PYTHON, CpuMeter, Stack, log, machine, percentile

LOADGEN = str(Path(__file__).resolve().parent / "_loadgen.py")
CUSTOMERS = 2000


def load(ports: int | list[int], **spec: Any) -> dict[str, Any]:
    """One phase from the load generator against one server, or several round-robin."""
    many = [ports] if isinstance(ports, int) else list(ports)
    spec = {"port": many[0], "ports": many, "customers": CUSTOMERS, **spec}
    if "max_requests" not in spec:
        per_second = 4000 if spec["mode"] == "closed" else spec["rate"]
        spec["max_requests"] = int(per_second * spec["duration"] / spec.get("batch", 1)) + 100
    done = subprocess.run([PYTHON, LOADGEN], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=spec["duration"] + 180)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    lat = result["latencies_ms"]
    result["p50"], result["p99"] = percentile(lat, 50), percentile(lat, 99)
    result["msg_per_s"] = result["messages_ok"] / result["elapsed"] if result["elapsed"] else 0.0
    result["req_per_s"] = result["requests"] / result["elapsed"] if result["elapsed"] else 0.0
    bad = {code: n for code, n in result["statuses"].items() if code != "200"}
    result["bad"] = sum(bad.values()) + result["errors"] + result["abandoned"]
    if result["bad"]:
        log(
            f"  non-200 answers on ports {many}: {bad}, transport errors: {result['errors']}, "
            f"messages unanswered when the phase ended: {result['abandoned']}"
        )
    return result


def measured(stack: Stack, webs: dict[str, int], ports: list[int], **spec: Any) -> dict[str, Any]:
    """`load`, with the CPU each web process, the database and the load generator used."""
    with CpuMeter(stack.db, webs) as meter:
        result = load(ports, **spec)
    result["cpu"] = meter.line({"loadgen": float(result["cpu_s"])})
    return result


def ratio_line(one: dict[str, Any], many: dict[str, Any], n: int) -> str:
    ratio = many["msg_per_s"] / one["msg_per_s"] if one["msg_per_s"] else float("nan")
    return f"{'':>14}   {n} processes / 1: {ratio:.2f}x"


def row(label: str, sb: dict[str, Any], bare: dict[str, Any]) -> str:
    ratio = sb["msg_per_s"] / bare["msg_per_s"] if bare["msg_per_s"] else float("nan")
    return (f"{label:>14} | {sb['msg_per_s']:8.0f} {sb['p50']:7.1f} {sb['p99']:7.1f} {sb['bad']:5d} "
            f"| {bare['msg_per_s']:8.0f} {bare['p50']:7.1f} {bare['p99']:7.1f} | {ratio:6.1%}")  # fmt: skip


HEADER = (f"{'':>14} | {'switchboard web':^37} | {'bare HMAC endpoint':^25} |\n"
          f"{'':>14} | {'msgs/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'!200':>5} "
          f"| {'msgs/s':>8} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--levels", default="1,8,32,64", help="concurrency levels, single messages")
    parser.add_argument("--batch-levels", default="4,16", help="concurrency levels, batches of 10")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per closed-loop level")
    parser.add_argument("--rate", type=float, default=500.0, help="fixed-rate phase, webhooks/s")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--log-level", default="INFO", help="switchboard web's LOG_LEVEL")
    parser.add_argument(
        "--web", type=int, default=1, help="switchboard web processes, one database"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite file)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x]
    batch_levels = [int(x) for x in args.batch_levels.split(",") if x]

    started = time.monotonic()
    with Stack(args.database, log_level=args.log_level, keep=args.keep) as stack:
        webs: dict[str, int] = {}
        ports: list[int] = []
        for n in range(args.web):
            port, process = stack.start_web()  # the first on PUBLIC_BASE_URL's port
            webs[f"web{n + 1}"] = process.pid
            ports.append(port)
        bare_port, bare_process = stack.start_bare()
        log(f"switchboard web on {ports}, bare app on :{bare_port}, database {args.database}")
        accepted = messages_ok = duplicates = abandoned = 0
        # One process, then (with --web 2 or more) all of them: the same phase, back to back.
        spreads = [ports[:1], ports] if len(ports) > 1 else [ports]

        def sb(spread: list[int], **spec: Any) -> dict[str, Any]:
            nonlocal accepted, messages_ok, duplicates, abandoned
            result = measured(stack, webs, spread, **spec)
            abandoned += result["abandoned"]
            accepted += result["accepted"]
            messages_ok += result["messages_ok"]
            duplicates += result["duplicates"]
            return result

        # warm-up: imports, pools, first conversations
        sb(ports, mode="closed", concurrency=8 * len(ports), duration=2.0)
        load(bare_port, mode="closed", concurrency=8, duration=1.0)

        print(f"Switchboard ingest bench — {machine()}, database {args.database}, "
              f"LOG_LEVEL {args.log_level}, {args.web} web process(es), load generator in its "
              f"own process on the same machine, load avg {os.getloadavg()[0]:.1f} before the run")  # fmt: skip

        def phase(label: str, **spec: Any) -> None:
            runs = [sb(spread, **spec) for spread in spreads]
            bare = measured(stack, {"bare": bare_process.pid}, [bare_port], **spec)
            for spread, run in zip(spreads, runs, strict=True):
                name = label if len(spreads) == 1 else f"{label} w{len(spread)}"
                print(row(name, run, bare), flush=True)
                print(f"{'':>14}   {run['cpu']}", flush=True)
            if len(runs) > 1:
                print(ratio_line(runs[0], runs[-1], len(ports)), flush=True)
            print(f"{'':>14}   bare: {bare['cpu']}", flush=True)

        print(
            "\nSingle-message webhooks, closed loop (label = concurrent connections"
            + (", wN = N web processes)" if len(spreads) > 1 else ")")
        )
        print(HEADER)
        for c in levels:
            phase(f"c={c}", mode="closed", concurrency=c, duration=args.duration, batch=1)

        print(
            "\nWebhooks of 10 messages each, closed loop (msgs/s counts messages, latency is per webhook)"
        )
        print(HEADER)
        for c in batch_levels:
            phase(f"c={c} x10", mode="closed", concurrency=c, duration=args.duration, batch=10)

        print(f"\nFixed rate: {args.rate:.0f} single-message webhooks/s for {args.rate_seconds:.0f} s "
              "(latency from the scheduled send instant; pool of 256 connections)")  # fmt: skip
        print(HEADER)
        phase(f"{args.rate:.0f}/s", mode="rate", rate=args.rate, duration=args.rate_seconds,
              concurrency=256, batch=1)  # fmt: skip

        time.sleep(2.0 if not abandoned else 20.0)  # let abandoned requests finish server-side
        stored = int(stack.db.scalar("SELECT count(*) FROM messages WHERE direction = 'inbound'"))
        conversations = int(stack.db.scalar("SELECT count(*) FROM conversations"))
        # Abandoned requests (unanswered when a phase ended) may or may not have been stored.
        ok = accepted == messages_ok and accepted <= stored <= accepted + abandoned
        print(f"\nDurability check: {messages_ok} messages answered 200, {accepted} reported stored by "
              f"the webhook, {duplicates} duplicates, {abandoned} abandoned unanswered, {stored} rows in `messages` "
              f"({conversations} conversations) — {'OK' if ok else 'MISMATCH'}")  # fmt: skip
        print(
            f"(run took {time.monotonic() - started:.0f} s; load avg {os.getloadavg()[0]:.1f} at the end)"
        )
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
