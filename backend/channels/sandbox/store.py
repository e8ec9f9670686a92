"""What the sandbox remembers — messages the business sent and pending faults — kept in Redis so
every web process of one deployment sees the same phone. Everything expires after a few days
and lists are capped: the sandbox is a stand-in for WhatsApp, never a system of record.
"""

from __future__ import annotations

import inspect
import json
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.asyncio import Redis

from backend.db.types import utcnow

PREFIX = "switchboard:sandbox:"
TTL_SECONDS = 3 * 24 * 3600
PER_CUSTOMER = 500
OVERALL = 1000


T = TypeVar("T")


def _a(result: Awaitable[T] | T) -> Awaitable[T]:
    """redis-py types its async hash and list commands as sync-or-async; they are async here."""
    assert inspect.isawaitable(result)
    return result


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


class SandboxStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record_sent(self, wamid: str, wa_id: str, kind: str, body: dict[str, Any]) -> None:
        record = {"id": wamid, "to": wa_id, "type": kind, "body": json.dumps(body),
                  "received_at": utcnow().isoformat(), "status": "accepted"}  # fmt: skip
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{PREFIX}msg:{wamid}", mapping=record)
            pipe.expire(f"{PREFIX}msg:{wamid}", TTL_SECONDS)
            pipe.rpush(f"{PREFIX}to:{wa_id}", wamid)
            pipe.ltrim(f"{PREFIX}to:{wa_id}", -PER_CUSTOMER, -1)
            pipe.expire(f"{PREFIX}to:{wa_id}", TTL_SECONDS)
            pipe.rpush(f"{PREFIX}all", wamid)
            pipe.ltrim(f"{PREFIX}all", -OVERALL, -1)
            pipe.expire(f"{PREFIX}all", TTL_SECONDS)
            await pipe.execute()

    async def set_status(self, wamid: str, status: str) -> None:
        if await self._redis.exists(f"{PREFIX}msg:{wamid}"):
            await _a(self._redis.hset(f"{PREFIX}msg:{wamid}", "status", status))

    async def sent_messages(self, wa_id: str | None, limit: int = 200) -> list[dict[str, Any]]:
        """Oldest first: one customer's whole thread, or the newest `limit` overall."""
        key = f"{PREFIX}to:{wa_id}" if wa_id else f"{PREFIX}all"
        start = -PER_CUSTOMER if wa_id else -limit
        wamids = [_text(raw) for raw in await _a(self._redis.lrange(key, start, -1))]
        async with self._redis.pipeline(transaction=False) as pipe:
            for wamid in wamids:
                pipe.hgetall(f"{PREFIX}msg:{wamid}")
            rows: list[dict[bytes, bytes]] = await pipe.execute()
        result = []
        for row in rows:
            if not row:
                continue  # expired
            record = {_text(key): _text(value) for key, value in row.items()}
            result.append({**record, "body": json.loads(record["body"])})
        return result

    async def add_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        fault_id = secrets.token_hex(6)
        stored = {key: json.dumps(value) for key, value in fault.items() if value is not None}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{PREFIX}fault:{fault_id}", mapping={**stored, "remaining": fault["count"]})
            pipe.expire(f"{PREFIX}fault:{fault_id}", TTL_SECONDS)
            pipe.rpush(f"{PREFIX}faults", fault_id)
            pipe.expire(f"{PREFIX}faults", TTL_SECONDS)
            await pipe.execute()
        return {"id": fault_id, **fault}

    async def faults(self) -> list[dict[str, Any]]:
        result = []
        for raw_id in await _a(self._redis.lrange(f"{PREFIX}faults", 0, -1)):
            fault = await self._fault(_text(raw_id))
            if fault is not None:
                result.append(fault)
        return result

    async def clear_faults(self) -> None:
        for raw_id in await _a(self._redis.lrange(f"{PREFIX}faults", 0, -1)):
            await self._redis.delete(f"{PREFIX}fault:{_text(raw_id)}")
        await self._redis.delete(f"{PREFIX}faults")

    async def take_fault(self, wa_id: str) -> dict[str, Any] | None:
        """Consume one use of the oldest fault that applies to `wa_id`. HINCRBY makes each use
        atomic, so concurrent sends from several processes never share one."""
        for raw_id in await _a(self._redis.lrange(f"{PREFIX}faults", 0, -1)):
            fault_id = _text(raw_id)
            fault = await self._fault(fault_id)
            if fault is None or fault.get("wa_id") not in (None, wa_id):
                continue
            left = await _a(self._redis.hincrby(f"{PREFIX}fault:{fault_id}", "remaining", -1))
            if left <= 0:
                await _a(self._redis.lrem(f"{PREFIX}faults", 0, fault_id))
                await self._redis.delete(f"{PREFIX}fault:{fault_id}")
            if left >= 0:
                return fault
        return None

    async def _fault(self, fault_id: str) -> dict[str, Any] | None:
        row = await _a(self._redis.hgetall(f"{PREFIX}fault:{fault_id}"))
        if not row:
            await _a(self._redis.lrem(f"{PREFIX}faults", 0, fault_id))
            return None
        fields = {_text(key): _text(value) for key, value in row.items()}
        remaining = int(fields.pop("remaining"))
        return {
            "id": fault_id,
            **{k: json.loads(v) for k, v in fields.items()},
            "remaining": remaining,
        }
