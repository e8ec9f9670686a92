"""Status storm: the delivery statuses of a template sent to many customers, against `switchboard web`.

    .venv/bin/python bench/statuses.py [--database sqlite|postgres] [--messages 10000]
                                       [--levels 1,10] [--concurrency 16] [--web 1]

A template sent to 10,000 customers comes back as 30,000 statuses: each message's `sent`, then
`delivered`, then `read`. The bench makes the customers through the webhook itself (one message
each, so contacts and conversations are real), writes the business's outbound messages with their
wamids straight into `messages` (status `sending`, as a send leaves them — the workers and the
Graph API are not what is measured here), then sends the storm as signed Cloud API status
webhooks, `--levels` statuses per webhook, closed loop at `--concurrency` connections, next to
the bare HMAC endpoint with the same bodies in the same run. Printed: statuses/s, p50, p99 and
the ratio, and under each row the CPU each process used (bench/ingest.py). With `--web 2` or
more, each level runs on one process and then on all of them (the requests round-robin; each run
its own messages), with the ratio of the two. At the end every message must be `read`
(forward-only statuses, none lost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from _common import Stack, log, machine
from ingest import HEADER, load, measured, ratio_line, row

CUSTOMERS = 1000


async def seed_outbound(database_url: str, count: int, tag: str) -> list[list[str]]:
    """`count` outbound messages spread over the customers' conversations; [[wamid, wa_id]]."""
    from sqlalchemy import insert, select

    from backend.conversations.models import Contact, Conversation, Message
    from backend.db.engine import create_engine
    from backend.db.types import utcnow

    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(Conversation.id, Conversation.channel_id, Contact.wa_id).join(
                        Contact,
                        Contact.id == Conversation.contact_id,  # type: ignore[arg-type]
                    )
                )
            ).all()
            now = utcnow()
            values: list[dict[str, Any]] = []
            pairs: list[list[str]] = []
            for i in range(count):
                conversation_id, channel_id, wa_id = rows[i % len(rows)]
                wamid = f"wamid.storm{tag}x{i:07d}"
                values.append({
                    "conversation_id": conversation_id, "channel_id": channel_id,
                    "direction": "outbound", "sender": "agent", "type": "text",
                    "text": f"Your order {i} has shipped", "payload": {}, "status": "sending",
                    "provider_message_id": wamid, "attempts": 1, "created_at": now,
                    "updated_at": now,
                })  # fmt: skip
                pairs.append([wamid, wa_id])
            table: Any = Message.__table__  # type: ignore[attr-defined]
            for start in range(0, len(values), 1000):
                await connection.execute(insert(table), values[start : start + 1000])
    finally:
        await engine.dispose()
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--levels", default="1,10", help="statuses per webhook, one run each")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--web", type=int, default=1, help="switchboard web processes, one database"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x]

    started = time.monotonic()
    with Stack(args.database, log_level="WARNING", keep=args.keep) as stack:
        webs: dict[str, int] = {}
        ports: list[int] = []
        for n in range(args.web):
            port, process = stack.start_web()  # the first on PUBLIC_BASE_URL's port
            webs[f"web{n + 1}"] = process.pid
            ports.append(port)
        bare_port, bare_process = stack.start_bare()
        log(f"switchboard web on {ports}, bare app on :{bare_port}, database {args.database}")
        made = load(ports, mode="closed", concurrency=8, duration=120.0, batch=10,
                    customers=CUSTOMERS, max_requests=CUSTOMERS // 5)  # fmt: skip
        log(f"{made['messages_ok']} customer messages stored (contacts and conversations)")
        print(f"Status storm bench — {machine()}, database {args.database}, "
              f"{args.messages} outbound messages x 3 statuses, {args.concurrency} connections, "
              f"{args.web} web process(es), load avg {os.getloadavg()[0]:.1f} before the run")  # fmt: skip
        print("\n(msgs/s counts statuses, latency is per webhook; wN = N web processes)")
        print(HEADER)
        ok = True
        spreads = [ports[:1], ports] if len(ports) > 1 else [ports]
        for level in levels:
            runs = []
            for spread in spreads:
                tag = f"{level}w{len(spread)}"  # this run's own wamids
                pairs = asyncio.run(seed_outbound(stack.env["DATABASE_URL"], args.messages, tag))
                spec: dict[str, Any] = {"mode": "closed", "concurrency": args.concurrency,
                                        "duration": 600.0, "batch": level, "statuses": pairs,
                                        "max_requests": 0}  # fmt: skip
                s = measured(stack, webs, spread, **spec)
                runs.append((spread, s))
                read = int(stack.db.scalar(
                    "SELECT count(*) FROM messages WHERE status = 'read' "  # noqa: S608
                    f"AND provider_message_id LIKE 'wamid.storm{tag}x%'"
                ))  # fmt: skip
                ok = ok and s["bad"] == 0 and read == len(pairs)
                log(f"  {read} of {len(pairs)} messages read, {s['accepted']} statuses counted")
            b = measured(stack, {"bare": bare_process.pid}, [bare_port], **spec)
            for spread, s in runs:
                name = f"{level}/webhook" + (f" w{len(spread)}" if len(spreads) > 1 else "")
                print(row(name, s, b), flush=True)
                print(f"{'':>14}   {s['cpu']}", flush=True)
            if len(runs) > 1:
                print(ratio_line(runs[0][1], runs[-1][1], len(ports)), flush=True)
            print(f"{'':>14}   bare: {b['cpu']}", flush=True)
        print(f"\nCheck: every message ended `read`, every webhook answered 200 — "
              f"{'OK' if ok else 'FAILED'}")  # fmt: skip
        print(
            f"(run took {time.monotonic() - started:.0f} s; load avg {os.getloadavg()[0]:.1f} at the end)"
        )
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
