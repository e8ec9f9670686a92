"""A worker process killed while it posts outgoing webhooks loses none: the deliveries are rows
written from the event log, its leases run out, and the next worker sends them — each event
under one delivery id, a retry carrying the same id."""

from __future__ import annotations

import signal
from collections import defaultdict

import pytest
from sqlmodel import col, select

from backend.agents.services import create_agent
from backend.realtime.models import Event
from tests.conftest import PASSWORD, login
from tests.support.business_system import start_business_system
from tests.support.isolated import Stack
from tests.support.waiting import eventually
from tests.support.whatsapp import new_wa_id

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

        first = stack.worker_process(**HOOK_ENV)
        try:
            customers = [new_wa_id() for _ in range(6)]
            for wa_id in customers:
                sent = await stack.http.post("/sandbox/api/inbound",
                                             json={"from": wa_id, "name": "Kim", "text": "where is it?"})  # fmt: skip
                assert sent.status_code == 200 and sent.json()["webhook_status"] == 200

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
        assert len(expected) >= len(customers)

        second = stack.worker_process(**HOOK_ENV)
        try:

            async def all_delivered() -> set[int] | None:
                seen = {r.body["seq"] for r in receiver.verified()}
                return seen if seen >= expected else None

            await eventually(all_delivered, within=180, what="every event after the restart")
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
