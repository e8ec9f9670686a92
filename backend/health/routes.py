"""Liveness and readiness: what a load balancer and an operator ask first."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from backend.core.context import context_of

CHECK_TIMEOUT = 2.0


@get("/health", tags=["operations"], exclude_from_auth=True)
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, timeout=CHECK_TIMEOUT)
        return name, None
    except TimeoutError:
        return name, "timed out"
    except Exception as error:
        return name, type(error).__name__


async def _database_ok(request: Request[Any, Any, Any]) -> None:
    async with context_of(request).engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _redis_ok(request: Request[Any, Any, Any]) -> None:
    await context_of(request).redis.ping()


@get("/ready", tags=["operations"], exclude_from_auth=True)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    results = await asyncio.gather(
        _check("database", _database_ok(request)), _check("redis", _redis_ok(request))
    )
    watchdogs: dict[str, Any] = getattr(request.app.state, "readiness_watchdogs", {})
    checks = {name: error or "ok" for name, error in results}
    for name, probe in watchdogs.items():
        problem = probe()
        checks[name] = problem or "ok"
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        return Response(
            {"status_code": 503, "detail": f"not ready: {', '.join(failed)}", "checks": checks},
            status_code=503,
        )
    return Response({"status": "ready", "checks": checks})
