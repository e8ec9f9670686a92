"""The shared Redis client (queues, fan-out, throttles; never the only copy of a fact)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    client: Redis = Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
    )
    return client
