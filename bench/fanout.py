"""Fan-out: webhook → agents' websockets across two `switchboard web` processes, and memory per socket.

    .venv/bin/python bench/fanout.py [--database sqlite|postgres] [--agents 200] [--rate 200]
                                     [--seconds 10] [--idle 1000] [--no-compression] [--py-spy DIR]

Starts everything itself: a fresh database, an embedded Redis, two `switchboard web` processes sharing
both. --agents agents in team General are inserted through the service layer (one shared argon2 hash);
each signs in (POST /api/v1/auth/login) and opens `ws://…/api/v1/ws?token=…`, alternately on the
two processes, from two client processes (bench/_wsclients.py, the `websockets` library offering
permessage-deflate like a browser; the server accepts it only with WEBSOCKET_COMPRESSION=true). Signed single-message webhooks then arrive at --rate per second,
alternately on both processes, from a separate load-generator process (bench/_loadgen.py). Every
agent is in General, so every agent must receive every `message.created` frame: latency is measured per
(message, agent) pair from the instant the webhook was written to the socket until the frame was read
by the client (both CLOCK_MONOTONIC), matched by data.message.provider_message_id.

CPU (`_common.CpuMeter`, from /proc) over the load and the drain after it, as cores busy: the two
web processes, the two client processes, the embedded Redis, the generator (its own count), the
PostgreSQL backends of the bench's database, and the whole machine — on two cores the clients are
a large share, and what the machine did beyond these is other work on it. The web processes' CPU
seconds and frames per web CPU-second are printed too: on a shared machine they compare runs
better than latency does.
--py-spy DIR records both web processes with py-spy (raw, 100 Hz, 8 s) during the load.

Memory: RSS of the second web process with --idle idle sockets open minus without, ÷ --idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from _common import PYTHON, CpuMeter, Stack, log, machine, percentile, rss_mb

HERE = Path(__file__).resolve().parent


async def insert_agents(database_url: str, count: int) -> None:
    """Agents through the service layer in one transaction: the password is hashed once (argon2 costs
    ~50 ms a hash here) and the hash shared, so 200 agents take a second, not a minute."""
    from backend.agents.models import Agent, AgentTeam
    from backend.agents.passwords import hash_password
    from backend.agents.services import get_or_create_team
    from backend.db.engine import create_engine, create_session_factory

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            team = await get_or_create_team(session, "General")
            secret = hash_password("bench-password")
            agents = [Agent(email=f"agent{n}@bench.test", name=f"Agent {n}", password_hash=secret)
                      for n in range(count)]  # fmt: skip
            session.add_all(agents)
            await session.flush()
            session.add_all([AgentTeam(agent_id=a.id, team_id=team.id) for a in agents])
            await session.commit()
    finally:
        await engine.dispose()


async def sign_in(bases: list[str], count: int) -> list[str]:
    """Each agent signs in over the API (POST /api/v1/auth/login), alternately on both processes."""
    gate = asyncio.Semaphore(4)

    async def one(n: int) -> str:
        async with gate, httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=120) as http:
            login = await http.post("/api/v1/auth/login", json={"email": f"agent{n}@bench.test",
                                                                "password": "bench-password"})  # fmt: skip
            assert login.status_code == 200, login.text
            return str(login.json()["token"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


class Clients:
    """One bench/_wsclients.py process holding a set of sockets."""

    def __init__(self, urls: list[str], compression: str | None) -> None:
        self.process = subprocess.Popen([PYTHON, str(HERE / "_wsclients.py")], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"urls": urls, "compression": compression}) + "\n")
        self.process.stdin.flush()
        self.expected = len(urls)

    def wait_ready(self) -> int:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != "ready":
            raise SystemExit(f"websocket clients failed: {line}")
        return int(line[1])

    def finish(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        out = self.process.stdout.readline()
        self.process.wait(timeout=60)
        return json.loads(out)


def send_paths(ports: list[int]) -> str:
    """From each web process's /metrics: sockets by send path, and frames per direct write."""
    found: dict[str, float] = {}
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for name in ('switchboard_websocket_sockets_total{path="direct"}',
                     'switchboard_websocket_sockets_total{path="asgi"}',
                     "switchboard_websocket_direct_writes_total",
                     "switchboard_websocket_direct_frames_total"):  # fmt: skip
            for line in text.splitlines():
                if line.startswith(name + " "):
                    found[name] = found.get(name, 0.0) + float(line.split()[-1])
    direct = found.get('switchboard_websocket_sockets_total{path="direct"}', 0)
    asgi = found.get('switchboard_websocket_sockets_total{path="asgi"}', 0)
    writes = found.get("switchboard_websocket_direct_writes_total", 0)
    frames = found.get("switchboard_websocket_direct_frames_total", 0)
    if not direct and not asgi:
        return "  send path: not reported (a build without realtime/wire.py)"
    return (f"  send path: {direct:.0f} sockets direct, {asgi:.0f} through send_text; "
            f"{frames:.0f} frames in {writes:.0f} direct writes "
            f"({frames / writes if writes else 0:.1f} a write)")  # fmt: skip


def start_py_spy(folder: str | None, pids: dict[str, int], seconds: float) -> list[Any]:
    """py-spy on each web process for most of the load (after a second to reach steady state)."""
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = str(Path(PYTHON).parent / "py-spy")
    duration = str(max(1, int(seconds) - 2))
    time.sleep(1.0)
    return [subprocess.Popen([spy, "record", "-p", str(pid), "-r", "100", "-d", duration, "-f", "raw",
                              "-o", str(Path(folder) / f"{name}.txt"), "--nonblocking"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0, help="inbound webhooks per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--idle", type=int, default=1000, help="idle sockets for the memory figure (0: skip)"
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="clients refuse permessage-deflate"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--py-spy", metavar="DIR", help="record both web processes with py-spy")
    args = parser.parse_args()
    compression = None if args.no_compression else "deflate"

    started = time.monotonic()
    with Stack(args.database, keep=args.keep) as stack:
        port1, web1 = stack.start_web()
        port2, web2 = stack.start_web()
        base = f"http://127.0.0.1:{port1}"
        t = time.monotonic()
        asyncio.run(insert_agents(stack.db.url, args.agents))
        tokens = asyncio.run(sign_in([base, f"http://127.0.0.1:{port2}"], args.agents))
        log(f"{len(tokens)} agents created and signed in in {time.monotonic() - t:.0f} s")

        # -- latency under load -------------------------------------------------------------
        urls = [
            f"ws://127.0.0.1:{(port1, port2)[i % 2]}/api/v1/ws?token={tok}"
            for i, tok in enumerate(tokens)
        ]
        groups = [Clients(urls[0::2], compression), Clients(urls[1::2], compression)]
        connected = sum(g.wait_ready() for g in groups)
        log(
            f"{connected} sockets open; sending {args.rate:.0f} webhooks/s for {args.seconds:.0f} s"
        )
        time.sleep(1.0)
        spec = {"ports": [port1, port2], "port": port1, "mode": "rate", "rate": args.rate,
                "duration": args.seconds, "concurrency": 128, "batch": 1, "customers": 1000,
                "record": True, "max_requests": int(args.rate * args.seconds) + 10}  # fmt: skip
        processes = {"web1": web1.pid, "web2": web2.pid, "clients1": groups[0].process.pid,
                     "clients2": groups[1].process.pid}  # fmt: skip
        if stack.redis is not None and stack.redis.process is not None:
            processes["redis"] = stack.redis.process.pid
        with CpuMeter(stack.db, processes) as meter:
            generator = subprocess.Popen([PYTHON, str(HERE / "_loadgen.py")], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            assert generator.stdin is not None
            generator.stdin.write(json.dumps(spec))
            generator.stdin.close()  # the generator starts sending now
            generator.stdin = None  # (communicate would flush it)
            spies = start_py_spy(args.py_spy, {"web1": web1.pid, "web2": web2.pid}, args.seconds)
            out, err = generator.communicate(timeout=args.seconds + 120)
            if generator.returncode != 0:
                raise SystemExit(err[-3000:])
            sent = json.loads(out)
            time.sleep(3.0)  # let the last frames arrive
        for spy in spies:
            spy.wait(timeout=60)
        results = [g.finish() for g in groups]

        sent_at: dict[str, float] = sent["sent_at"]
        ok = sent["statuses"].get("200", 0)
        latencies: list[float] = []
        frames = closed = 0
        for result in results:
            frames += result["frames"]
            closed += result["closed"]
            for wamid, instants in result["seen"].items():
                if wamid in sent_at:
                    latencies += [(t - sent_at[wamid]) * 1000 for t in instants]
        expected = ok * connected
        webhook_lat = sent["latencies_ms"]

        print(
            f"Switchboard fan-out bench — {machine()}, database {args.database}, "
            f"load avg at the end {os.getloadavg()[0]:.1f}"
        )
        print(
            f"2 web processes, one Redis, one database; {connected} agent sockets (all in team General, "
            f"{'permessage-deflate' if compression else 'no compression'}) in 2 client processes"
        )
        print(f"Inbound: {args.rate:.0f} single-message webhooks/s for {args.seconds:.0f} s over both processes: "
              f"{ok} answered 200 of {len(webhook_lat)} (webhook p50 {percentile(webhook_lat, 50):.1f} ms, "
              f"p99 {percentile(webhook_lat, 99):.1f} ms)")  # fmt: skip
        print(
            f"  webhook → browser socket: p50 {percentile(latencies, 50):.1f} ms, "
            f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies, default=float('nan')):.1f} ms"
        )
        print(
            f"  frames delivered: {len(latencies)} message.created of {expected} expected "
            f"({len(latencies) / expected if expected else 0:.1%}), {frames} frames in all; "
            f"sockets closed by the server: {closed}"
        )
        web_cpu = meter.used["web1"] + meter.used["web2"]
        print(f"  CPU over the {meter.elapsed:.1f} s of load and drain: web processes "
              f"{meter.used['web1']:.1f} + {meter.used['web2']:.1f} s "
              f"({len(latencies) / web_cpu if web_cpu else 0:,.0f} message.created frames per web "
              f"CPU-second); {meter.line({'generator': float(sent.get('cpu_s', 0.0))})}")  # fmt: skip
        print(send_paths([port1, port2]))

        # -- memory per idle connection -------------------------------------------------------
        if args.idle:
            time.sleep(1.0)
            before = rss_mb(web2.pid)
            idle_urls = [f"ws://127.0.0.1:{port2}/api/v1/ws?token={tokens[i % len(tokens)]}"
                         for i in range(args.idle)]  # fmt: skip
            holder = Clients(idle_urls, compression)
            opened = holder.wait_ready()
            time.sleep(3.0)
            after = rss_mb(web2.pid)
            holder.finish()
            per = (after - before) * 1024 / opened if opened else float("nan")
            print(
                f"Memory: web process RSS {before:.1f} MB → {after:.1f} MB with {opened} idle sockets: "
                f"{per:.1f} KB per connection ({after - before:.1f} MB per 1,000)"
            )
        print(f"(run took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
