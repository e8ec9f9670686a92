"""Integration fixtures: an admin's session and API keys made through the real API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import login


@pytest.fixture
async def admin(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("admin"))


@pytest.fixture
def make_key(client: httpx.AsyncClient, admin: dict[str, str]) -> Any:
    async def make(*scopes: str, name: str = "Shop backend", **extra: Any) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/api-keys", json={"name": name, "scopes": list(scopes), **extra}, headers=admin
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        created["headers"] = {"Authorization": f"Bearer {created['key']}"}
        return created

    return make
