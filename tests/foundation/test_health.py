"""/health while the process runs; /ready only while the database and Redis answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from backend.config import Settings
from backend.core.embedded_redis import EmbeddedRedis
from tests.support.servers import start_server


async def test_health_ready_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "events": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/auth/login" in schema["paths"]


async def test_ready_is_503_while_redis_is_down_and_200_once_back(
    settings: Settings, tmp_path: Path
) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", persist=False)
    redis.start()
    live = start_server(settings.model_copy(update={"redis_url": redis.url}))
    try:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as http:
            assert (await http.get("/ready")).status_code == 200
            redis.stop()
            down = await http.get("/ready")
            assert down.status_code == 503
            assert down.json()["checks"]["redis"] != "ok"
            assert down.json()["checks"]["database"] == "ok"
            assert "redis" in down.json()["detail"]
            assert (await http.get("/health")).status_code == 200
            redis.start()
            for _ in range(50):
                if (await http.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/ready")).status_code == 200
    finally:
        live.stop()
        redis.stop()
