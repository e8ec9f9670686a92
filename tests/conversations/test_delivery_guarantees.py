"""What happens when things break: a worker killed mid-send, Redis down at write time, two
workers sharing one rate limit. Each test gets its own Redis, database, app and workers, so
that nothing else (the session's worker, its reconciler) can rescue or disturb the message."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta

import pytest

from backend.conversations.models import Message
from backend.db.types import utcnow
from tests.support.isolated import Stack
from tests.support.servers import start_worker
from tests.support.waiting import eventually


@pytest.mark.timeout(400)  # worker processes start slowly on a busy machine
async def test_a_worker_killed_while_whatsapp_accepts_does_not_send_twice(stack: Stack) -> None:
    conversation = await stack.conversation()
    # The provider accepts the message but answers slowly; the worker dies before the answer.
    await stack.http.post(
        "/sandbox/api/faults", json={"delay_seconds": 5, "count": 1, "wa_id": conversation["wa_id"]}
    )
    first = stack.worker_process()
    try:
        queued = await stack.reply(conversation, "Your refund is on its way.")
        await eventually(lambda: stack.received(conversation["wa_id"]))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    second = stack.worker_process()
    try:
        # Its statuses carry our key, so the message is recognised as sent, and the restarted
        # worker's reconciler (at start-up and every few seconds) leaves it alone.
        async def settled() -> Message | None:
            message = await stack.message(queued["id"])
            return message if message.status == "read" else None

        message = await eventually(settled)
        await asyncio.sleep(
            stack.settings.send_lease_seconds + stack.settings.send_reconcile_grace_seconds + 1
        )
        received = await stack.received(conversation["wa_id"])
        assert len(received) == 1
        assert message.provider_message_id == received[0]["id"]
        assert (await stack.message(queued["id"])).status == "read"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)


@pytest.mark.timeout(400)  # worker processes start slowly on a busy machine
async def test_a_send_that_died_before_reaching_whatsapp_is_sent_once_after_its_lease(
    stack: Stack,
) -> None:
    conversation = await stack.conversation()
    queued = await stack.reply(conversation, "Sorry for the wait!")
    # What a worker killed before its request left leaves behind: `sending`, a lease that ran out.
    async with stack.ctx.sessions() as session:
        message = await session.get(Message, queued["id"])
        assert message is not None and message.status == "queued"
        message.status, message.attempts = "sending", 1
        message.lease_until = utcnow() - timedelta(seconds=5)
        await session.commit()
    worker = stack.worker_process()
    try:
        await eventually(lambda: stack.received(conversation["wa_id"]))
        await asyncio.sleep(2)
        assert len(await stack.received(conversation["wa_id"])) == 1
        assert (await stack.message(queued["id"])).attempts == 2
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)


@pytest.mark.timeout(400)  # worker processes start slowly on a busy machine
async def test_a_message_written_while_redis_is_down_is_sent_when_it_returns(stack: Stack) -> None:
    conversation = await stack.conversation()
    stack.redis.stop()
    queued = await stack.reply(conversation, "Written while Redis was away")
    assert queued["status"] == "queued"
    assert (await stack.http.get("/ready")).status_code == 503
    stack.redis.start()
    # Past the grace, so the reconciler's first run (at the worker's start) takes it.
    await asyncio.sleep(stack.settings.send_reconcile_grace_seconds + 0.5)
    worker = stack.worker_process()
    try:
        try:
            [received] = await eventually(lambda: stack.received(conversation["wa_id"]), within=30)
        except AssertionError:
            message = await stack.message(queued["id"])
            raise AssertionError(
                f"not sent: {message.status=} {message.attempts=} {message.updated_at=}"
            ) from None
        assert received["body"]["text"]["body"] == "Written while Redis was away"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)


async def test_two_workers_share_one_rate_limit(stack: Stack) -> None:
    workers = [await asyncio.to_thread(start_worker, stack.settings) for _ in range(2)]
    try:
        conversations = [await stack.conversation() for _ in range(6)]
        for round_ in range(3):
            for conversation in conversations:
                await stack.reply(conversation, f"update {round_}")

        async def everything() -> list[datetime] | None:
            stamps = []
            for conversation in conversations:
                stamps += [
                    datetime.fromisoformat(m["received_at"])
                    for m in await stack.received(conversation["wa_id"])
                ]
            return sorted(stamps) if len(stamps) == 18 else None

        stamps = await eventually(everything, within=30)
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)
    rate = stack.settings.send_rate_per_second
    busiest = max(
        sum(1 for t in stamps if start <= t < start + timedelta(seconds=1)) for start in stamps
    )
    # Sends leave evenly spaced (1/rate apart); arrival jitter can bring one more into a window.
    assert busiest <= rate + 1, f"{busiest} sends in one second against a limit of {rate}"
    assert (stamps[-1] - stamps[0]).total_seconds() >= (len(stamps) - 1) / rate * 0.9
