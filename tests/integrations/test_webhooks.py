"""Outgoing webhooks against a real receiver on loopback that checks every signature."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from backend.core.context import AppContext
from backend.db.types import utcnow
from backend.integrations.models import WebhookDelivery, WebhookEndpoint
from backend.realtime.events import record_event
from tests.conftest import login
from tests.support.business_system import BusinessSystem, Received, start_business_system
from tests.support.servers import LiveWorker
from tests.support.waiting import eventually
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id


@pytest.fixture
async def receiver(worker: LiveWorker) -> AsyncIterator[BusinessSystem]:
    system = start_business_system()
    yield system
    system.stop()


@pytest.fixture
async def subscribe(client: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[Any]:
    made: list[int] = []

    async def make(
        system: BusinessSystem, events: list[str], path: str = "/hooks"
    ) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/webhook-endpoints",
            json={
                "url": system.url.replace("/hooks", path),
                "events": events,
                "description": "shop",
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        endpoint: dict[str, Any] = response.json()
        system.secrets.append(endpoint["secret"])
        made.append(endpoint["id"])
        return endpoint

    yield make
    # An endpoint left subscribed would receive the next test's events too.
    for endpoint_id in made:
        await client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=admin)


async def record(ctx: AppContext, type_: str, **data: Any) -> int:
    """An event committed the way a process that died right after its commit leaves it: in the
    table, its hooks never run."""
    async with ctx.sessions() as session:
        event = await record_event(session, type_, data)
        await session.commit()
    assert event.seq is not None
    return event.seq


async def soon(probe: Callable[[], Any], within: float = 20.0, what: str = "condition") -> Any:
    """`eventually` for a probe of what the receiver holds (no I/O to await)."""

    async def wrapped() -> Any:
        return probe()

    return await eventually(wrapped, within=within, what=what)


def of_conversation(system: BusinessSystem, conversation_id: int) -> list[Received]:
    return [r for r in system.received if r.body.get("conversation_id") == conversation_id]


async def test_events_arrive_signed_with_the_contract_headers_and_envelope(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, make_agent: Any
) -> None:
    endpoint = await subscribe(receiver, ["*"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["state"] == "active"
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Is my order on its way?")
    lead = await login(client, await make_agent("lead"))
    conversation = await find_conversation(client, lead, wa_id)

    async def arrived() -> list[Received] | None:
        got = of_conversation(receiver, conversation["id"])
        types = {r.body["type"] for r in got}
        return got if {"conversation.created", "message.created"} <= types else None

    got = await eventually(arrived, what="the conversation's events")
    for item in got:
        assert item.verified_with == [endpoint["secret"]]
        assert item.headers["content-type"] == "application/json"
        assert item.headers["switchboard-event"] == item.body["type"]
        assert item.headers["switchboard-delivery"] == item.body["id"]
        assert set(item.body) == {"id", "seq", "type", "conversation_id", "at", "data"}
        assert item.headers["switchboard-signature"].count("v1=") == 1
    message = next(r for r in got if r.body["type"] == "message.created")
    assert message.body["data"]["message"]["text"] == "Is my order on its way?"
    listed = (await client.get("/api/v1/webhook-endpoints", headers=lead)).status_code
    assert listed == 403  # leads do not manage webhooks


async def test_only_matching_events_are_sent(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext
) -> None:
    await subscribe(receiver, ["conversation.resolved"])
    await record(ctx, "message.created", message={"id": 0})
    seq = await record(ctx, "conversation.resolved", conversation={"id": 0})
    await soon(lambda: [r for r in receiver.received if r.body["seq"] == seq])
    assert {r.body["type"] for r in receiver.received} == {"conversation.resolved"}


async def test_a_key_with_webhooks_manage_manages_endpoints(
    client: httpx.AsyncClient, receiver: BusinessSystem, make_key: Any
) -> None:
    key = await make_key("webhooks:manage")
    body = {"url": receiver.url, "events": ["message.created"]}
    created = await client.post("/api/v1/webhook-endpoints", json=body, headers=key["headers"])
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    assert (
        "secret"
        not in (
            await client.get(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=key["headers"])
        ).json()
    )
    patched = await client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        json={"events": ["message.status", "message.created"], "description": "acks"},
        headers=key["headers"],
    )
    assert patched.json()["events"] == ["message.created", "message.status"]
    bad = await client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}", json={"events": ["notification.created"]},
        headers=key["headers"],
    )  # fmt: skip
    assert bad.status_code == 422
    other = await make_key("messages:send")
    assert (
        await client.get("/api/v1/webhook-endpoints", headers=other["headers"])
    ).status_code == 403
    gone = await client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=key["headers"])
    assert gone.status_code == 200
    missing = await client.get(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=key["headers"])
    assert missing.status_code == 404


async def test_a_receiver_down_for_a_while_gets_every_event_once_and_failures_retry_with_one_id(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    endpoint = await subscribe(receiver, ["test.outage"])
    receiver.stop()
    seqs = [await record(ctx, "test.outage", n=n) for n in range(5)]

    async def failed_attempts() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (
            await client.get(
                f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
            )
        ).json()["items"]
        return items if len(items) == 5 and all(i["attempt_count"] >= 1 for i in items) else None

    pending = await eventually(failed_attempts, what="attempts against a receiver that is down")
    assert {i["state"] for i in pending} == {"pending"}
    assert all(i["error"] and i["next_attempt_at"] for i in pending)
    receiver.fail_with = [500, 503]
    receiver.start()

    async def all_delivered() -> bool:
        good = {r.body["seq"] for r in receiver.verified() if r.body["type"] == "test.outage"}
        return good >= set(seqs) and len(receiver.received) >= 7

    await eventually(all_delivered, within=30, what="every event after the outage")
    ids_by_seq: dict[int, set[str]] = {}
    for item in receiver.received:
        ids_by_seq.setdefault(item.body["seq"], set()).add(item.headers["switchboard-delivery"])
    assert all(len(ids) == 1 for ids in ids_by_seq.values())  # a retry carries the same id
    await asyncio.sleep(1.0)
    delivered = Counter(r.body["id"] for r in receiver.received)
    # Five deliveries, two 5xx answers retried: seven posts in all, and nothing more.
    assert len(delivered) == 5 and sum(delivered.values()) == 7
    items = (
        await client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin)
    ).json()["items"]
    assert {i["state"] for i in items} == {"delivered"}
    retried = [i for i in items if any(a["status_code"] in (500, 503) for a in i["attempts"])]
    assert retried and all(i["status_code"] == 200 for i in retried)


async def test_a_delivery_left_by_a_dead_worker_or_a_lost_hook_is_sent_later(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext
) -> None:
    endpoint = await subscribe(receiver, ["test.crash"])
    receiver.stop()
    seq = await record(ctx, "test.crash", note="committed; the web process died before its hooks")

    async def written() -> WebhookDelivery | None:
        async with ctx.sessions() as session:
            return (
                await session.execute(
                    select(WebhookDelivery).where(
                        col(WebhookDelivery.event_seq) == seq,
                        col(WebhookDelivery.endpoint_id) == endpoint["id"],
                    )
                )
            ).scalar_one_or_none()

    delivery = await eventually(written, what="the sweep's fan-out")
    # A worker died mid-post: its lease holds the delivery for a moment, then it is sent again.
    async with ctx.sessions() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery.id)
            .values(lease_until=utcnow() + timedelta(seconds=2), next_attempt_at=utcnow())
        )
        await session.commit()
    receiver.start()
    got = await soon(lambda: [r for r in receiver.verified() if r.body["seq"] == seq], within=30,
        what="the delivery after the lease expired",
    )  # fmt: skip
    assert got[0].body["data"]["note"].startswith("committed")
    assert got[0].body["id"] == delivery.public_id


async def test_redeliver_sends_the_same_delivery_again(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    endpoint = await subscribe(receiver, ["test.redeliver"])
    seq = await record(ctx, "test.redeliver")
    [first] = await soon(lambda: [r for r in receiver.received if r.body["seq"] == seq])
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    [item] = (await client.get(path, headers=admin)).json()["items"]
    assert item["id"] == first.body["id"]
    again = await client.post(f"{path}/{item['id']}/redeliver", headers=admin)
    assert again.status_code == 202
    await soon(lambda: len([r for r in receiver.received if r.body["seq"] == seq]) == 2)
    [after] = (await client.get(path, headers=admin)).json()["items"]
    assert after["attempt_count"] == 2 and after["state"] == "delivered"
    assert (await client.post(f"{path}/whd_nope/redeliver", headers=admin)).status_code == 404


async def test_rotation_signs_with_both_secrets_for_the_overlap(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    endpoint = await subscribe(receiver, ["test.rotation"])
    old = endpoint["secret"]
    rotated = await client.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=admin
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    receiver.secrets.append(new)
    seq = await record(ctx, "test.rotation")
    [got] = await soon(lambda: [r for r in receiver.received if r.body["seq"] == seq])
    assert got.headers["switchboard-signature"].count("v1=") == 2
    assert sorted(got.verified_with) == sorted([old, new])  # either secret alone verifies it
    # After the overlap only the new secret signs.
    async with ctx.sessions() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == endpoint["id"])
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    later = await record(ctx, "test.rotation")
    [last] = await soon(lambda: [r for r in receiver.received if r.body["seq"] == later])
    assert last.headers["switchboard-signature"].count("v1=") == 1 and last.verified_with == [new]


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    endpoint = await subscribe(receiver, ["test.redirect"], path="/redirect")
    seq = await record(ctx, "test.redirect")
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"

    async def attempted() -> dict[str, Any] | None:
        items = (await client.get(path, headers=admin)).json()["items"]
        return items[0] if items and items[0]["attempt_count"] >= 1 else None

    item = await eventually(attempted)
    assert item["status_code"] == 302 and item["state"] == "pending"
    assert not [r for r in receiver.received if r.body.get("seq") == seq]


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    """The suite's retry window is 15 seconds (OUTGOING_WEBHOOK_RETRY_WINDOW_SECONDS)."""
    receiver.status = 500
    endpoint = await subscribe(receiver, ["test.persistent"])
    await record(ctx, "test.persistent")
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"

    async def disabled() -> dict[str, Any] | None:
        got: dict[str, Any] = (await client.get(path, headers=admin)).json()
        return got if got["state"] == "disabled" else None

    shown = await eventually(disabled, within=45, what="the endpoint disabled")
    assert "500" in shown["disabled_reason"] and shown["failing_since"]
    [item] = (await client.get(f"{path}/deliveries", headers=admin)).json()["items"]
    assert (
        item["state"] == "failed" and item["attempt_count"] >= 4 and item["next_attempt_at"] is None
    )
    gaps = [a["at"] for a in item["attempts"]]
    assert gaps == sorted(gaps)
    # Re-enabled by an admin, it hears new events again.
    receiver.status = 200
    assert (await client.patch(path, json={"state": "active"}, headers=admin)).json()[
        "state"
    ] == "active"
    seq = await record(ctx, "test.persistent")
    await soon(lambda: [r for r in receiver.received if r.body["seq"] == seq and r.verified_with])


async def test_a_receiver_slower_than_10_seconds_is_retried(
    client: httpx.AsyncClient, receiver: BusinessSystem, subscribe: Any, ctx: AppContext,
    admin: dict[str, str],
) -> None:  # fmt: skip
    receiver.hang_seconds = 11
    endpoint = await subscribe(receiver, ["test.slow"])
    seq = await record(ctx, "test.slow")
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"

    async def timed_out() -> dict[str, Any] | None:
        items = (await client.get(path, headers=admin)).json()["items"]
        return items[0] if items and items[0]["attempt_count"] >= 1 else None

    item = await eventually(timed_out, within=30, what="the first, too slow, attempt")
    assert item["error"] == "no answer within 10 s" and 10_000 <= item["duration_ms"] < 12_000
    receiver.hang_seconds = 0

    async def delivered() -> bool:
        items = (await client.get(path, headers=admin)).json()["items"]
        return bool(items) and items[0]["state"] == "delivered"

    await eventually(delivered, within=30, what="the retry")
    assert len({r.body["id"] for r in receiver.received if r.body["seq"] == seq}) == 1
