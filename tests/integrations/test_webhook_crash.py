"""A web process killed with webhooks in flight and a worker process killed while it posts
outgoing webhooks lose none: deliveries are rows written from the event log (whatever the web
committed is there), a dead worker's leases run out, and the next worker sends them — each event
under one delivery id, a retry carrying the same id."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import defaultdict

import httpx
import pytest
from sqlmodel import col, select

from backend.agents.services import create_agent
from backend.channels.sandbox.webhooks import text_message_webhook
from backend.core.embedded_redis import free_port
from backend.integrations.models import WebhookDelivery
from backend.realtime.models import Event
from tests.conftest import PASSWORD, login
from tests.support.business_system import start_business_system
from tests.support.isolated import Stack
from tests.support.waiting import eventually
from tests.support.whatsapp import CHANNEL, new_wa_id, post_webhook

HOOK_ENV = {"OUTGOING_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
            "OUTGOING_WEBHOOK_RETRY_BASE_SECONDS": "0.2"}  # fmt: skip


@pytest.mark.timeout(400)  # two worker processes start, and a lease has to run out
async def test_a_worker_killed_mid_delivery_loses_no_event(stack: Stack) -> None:
    async with stack.ctx.sessions() as session:
        admin = await create_agent(session, email="hooks.admin@example.test", password=PASSWORD,
                                   name="Hook Admin", role="admin", teams=["General"])  # fmt: skip
        await session.commit()
    headers = await login(stack.http, {"email": admin.email, "password": PASSWORD})
    receiver = start_business_system()
    receiver.hang_seconds = 3.0  # slow: posts are in flight when the worker dies
    try:
        made = await stack.http.post("/api/v1/webhook-endpoints", headers=headers, json={
            "url": receiver.url, "events": ["message.created"], "description": "shop"})  # fmt: skip
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])

        # Customers write to a web process that is SIGKILLed with their webhooks in flight.
        port = free_port()
        web = await asyncio.to_thread(stack.web_process, port)
        answered, enough = 0, asyncio.Event()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

                async def write(wa_id: str) -> None:
                    nonlocal answered
                    body = text_message_webhook(CHANNEL, wa_id, "Kim", "where is it?")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await post_webhook(http, body)).status_code == 200:
                            answered += 1
                            if answered >= 4:
                                enough.set()

                writes = [asyncio.create_task(write(new_wa_id())) for _ in range(12)]
                await asyncio.wait_for(enough.wait(), timeout=60)
                web.send_signal(signal.SIGKILL)  # the rest are in flight, or not yet sent
                await asyncio.gather(*writes)
        finally:
            web.kill()
            web.wait(10)
        assert answered >= 4

        first = stack.worker_process(**HOOK_ENV)
        try:

            async def posting() -> bool:
                return len(receiver.received) > 0

            await eventually(posting, within=120, what="a delivery in flight")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        in_flight = len(receiver.received)
        receiver.hang_seconds = 0.0

        async with stack.ctx.sessions() as session:
            events = (await session.execute(
                select(Event.seq).where(col(Event.type) == "message.created")
            )).scalars().all()  # fmt: skip
        expected = set(events)
        assert len(expected) >= answered  # every 200 is committed; some in flight may be too

        second = stack.worker_process(**HOOK_ENV)
        try:

            async def all_delivered() -> set[int] | None:
                seen = {r.body["seq"] for r in receiver.verified()}
                return seen if seen >= expected else None

            try:
                await eventually(all_delivered, within=180, what="every event after the restart")
            except AssertionError:
                seen = {r.body["seq"] for r in receiver.verified()}
                async with stack.ctx.sessions() as session:
                    rows = (await session.execute(select(WebhookDelivery))).scalars().all()
                states = sorted((d.event_seq, d.state, d.attempts, d.last_error) for d in rows)
                raise AssertionError(
                    f"missing {sorted(expected - seen)}; deliveries {states}"
                ) from None
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(15)
    finally:
        receiver.stop()
    ids_by_seq: dict[int, set[str]] = defaultdict(set)
    for r in receiver.verified():
        ids_by_seq[r.body["seq"]].add(r.body["id"])
    assert set(ids_by_seq) == expected
    assert all(len(ids) == 1 for ids in ids_by_seq.values()), ids_by_seq  # a retry keeps its id
    assert in_flight >= 1 and len(receiver.received) >= len(expected)
