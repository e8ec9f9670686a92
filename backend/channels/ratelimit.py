"""A token bucket per channel in Redis, shared by every worker, so a burst never trips 130429.

The bucket lives in one Redis hash updated by a Lua script (atomic across workers); it answers
how long to wait for the next token instead of sleeping itself.
"""

from __future__ import annotations

from redis.asyncio import Redis

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class TokenBuckets:
    """Named token buckets in Redis: per channel for sends, per API key for requests."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_TAKE)

    async def try_take_from(self, name: str, rate: float, burst: float) -> float:
        """0 when a token was taken; else the seconds until one is available (nothing taken)."""
        wait = await self._script(keys=[f"switchboard:rate:{name}"], args=[rate, burst])
        return float(wait)


class ChannelRateLimiter(TokenBuckets):
    async def try_take(self, channel_id: int, rate: float, burst: float | None = None) -> float:
        """0 when a token was taken; else the seconds until one is available (nothing taken)."""
        # A burst of one spaces sends evenly: no one-second window ever holds more than `rate`.
        return await self.try_take_from(str(channel_id), rate, burst if burst is not None else 1.0)
