"""Waiting on a condition in tests: poll, never sleep blindly, fail with what was awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    probe: Callable[[], Awaitable[Any]], within: float = 20.0, what: str = "condition"
) -> Any:
    """The probe's first truthy answer; AssertionError when none comes within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met in time")
        await asyncio.sleep(0.05)
