"""The event-log consumer's rules, against the real database and Redis: every event reaches every
reaction in order, a failing reaction is retried alone, a new reaction does not replay history."""

from __future__ import annotations

import uuid

import pytest
from arq.connections import ArqRedis

from backend.core.context import AppContext
from backend.core.hooks import Hook
from backend.realtime.events import commit_and_publish, record_event
from backend.realtime.models import Event
from backend.realtime.reactions import ReactionConsumer, ReactionsBehind

RUN = uuid.uuid4().hex  # this module's events; others (the session's worker, other tests) pass by


def reaction(seen: list[int], failures: dict[str, int] | None = None) -> Hook:
    """Records this module's events it is handed; raises while `failures["left"]` is above zero."""
    failures = failures if failures is not None else {"left": 0}

    async def react(_queue: ArqRedis, events: list[Event]) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise ConnectionError("redis is down")
        seen.extend(event.seq or 0 for event in events if event.data.get("run") == RUN)

    react.__qualname__ = f"react_{uuid.uuid4().hex[:12]}"  # a cursor of its own per test
    return react


async def emit(ctx: AppContext, count: int) -> list[int]:
    async with ctx.sessions() as session:
        for n in range(count):
            await record_event(session, "test.ping", {"n": n, "run": RUN})
        events = await commit_and_publish(session, ctx.redis)
    return [event.seq or 0 for event in events]


async def drain(consumer: ReactionConsumer) -> None:
    while await consumer.step():
        pass


async def test_each_reaction_gets_every_event_in_order_and_a_failing_one_is_retried_alone(
    ctx: AppContext,
) -> None:
    good: list[int] = []
    flaky: list[int] = []
    failures = {"left": 0}
    consumer = ReactionConsumer(ctx, [reaction(good), reaction(flaky, failures)], batch=7)
    await drain(consumer)  # both cursors start level with the log's front
    good.clear()
    flaky.clear()
    failures["left"] = 1  # Redis goes away for one round
    written = await emit(ctx, 12)
    with pytest.raises(ReactionsBehind):
        await consumer.step()
    # One batch of 7 went to the good reaction (ours among them, in order); none to the failing one.
    assert good == written[: len(good)] and len(good) <= 7 and flaky == []
    await drain(consumer)
    assert good == written
    assert flaky == written  # nothing skipped, in order, after its retry
    assert await consumer.lag() >= 0


async def test_a_reaction_added_later_starts_at_the_head_not_at_the_beginning(
    ctx: AppContext,
) -> None:
    first: list[int] = []
    await drain(ReactionConsumer(ctx, [reaction(first)]))
    await emit(ctx, 3)
    await drain(ReactionConsumer(ctx, [reaction(first)]))
    later: list[int] = []
    consumer = ReactionConsumer(ctx, [reaction(later)])
    await drain(consumer)
    assert later == []  # history is not replayed to a newcomer
    written = await emit(ctx, 2)
    await drain(consumer)
    assert later == written
