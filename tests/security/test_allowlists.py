"""Address allowlists for webhooks and admins, and X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from backend.channels.sandbox.webhooks import signed_post_headers, text_message_webhook
from backend.config import Settings
from tests.conftest import unique
from tests.support.servers import LiveServer, start_server
from tests.support.whatsapp import SECRET, new_wa_id

INSIDE, OUTSIDE = "198.51.100.20", "203.0.113.20"


@pytest.fixture(scope="module")
def fenced(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings.model_copy(update={
        "webhook_allowed_cidrs": ["198.51.100.0/24"], "admin_allowed_cidrs": ["198.51.100.0/24"],
    }))  # fmt: skip
    yield live
    live.stop()


@pytest.fixture(scope="module")
def untrusting(settings: Settings) -> Iterator[LiveServer]:
    """Believes X-Forwarded-For only from a proxy that is not the test client."""
    live = start_server(settings.model_copy(update={
        "webhook_allowed_cidrs": ["198.51.100.0/24"], "trusted_proxies": ["10.9.9.9"],
    }))  # fmt: skip
    yield live
    live.stop()


def _webhook() -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(text_message_webhook("sandbox", new_wa_id(), "Fence", "hello")).encode()
    return raw, signed_post_headers(raw, SECRET)


async def test_webhooks_only_from_allowed_networks(fenced: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=fenced.base_url) as http:
        raw, headers = _webhook()
        outside = await http.post(
            "/webhooks/whatsapp", content=raw, headers={**headers, "X-Forwarded-For": OUTSIDE}
        )
        assert outside.status_code == 403, outside.text
        inside = await http.post(
            "/webhooks/whatsapp", content=raw, headers={**headers, "X-Forwarded-For": INSIDE}
        )
        assert inside.status_code == 200, inside.text
        assert (await http.get("/health", headers={"X-Forwarded-For": OUTSIDE})).status_code == 200


async def test_admins_only_from_allowed_networks(fenced: LiveServer, make_agent: Any) -> None:
    admin, agent = await make_agent("admin"), await make_agent("agent")
    async with httpx.AsyncClient(base_url=fenced.base_url) as http:
        body = {"email": admin["email"], "password": admin["password"]}
        outside = await http.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": OUTSIDE}
        )
        assert outside.status_code == 403, outside.text
        inside = await http.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": INSIDE}
        )
        assert inside.status_code == 200
        token = {"Authorization": f"Bearer {inside.json()['token']}"}
        moved = await http.get("/api/v1/agents", headers={**token, "X-Forwarded-For": OUTSIDE})
        assert moved.status_code == 403  # a stolen admin token is no use elsewhere either
        at_desk = await http.get("/api/v1/agents", headers={**token, "X-Forwarded-For": INSIDE})
        assert at_desk.status_code == 200
        plain = {"email": agent["email"], "password": agent["password"]}
        assert (
            await http.post("/api/v1/auth/login", json=plain, headers={"X-Forwarded-For": OUTSIDE})
        ).status_code == 200  # agents are not fenced


async def _token(http: httpx.AsyncClient, agent: dict[str, Any]) -> str:
    body = {"email": agent["email"], "password": agent["password"]}
    signed_in = await http.post(
        "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": INSIDE}
    )
    assert signed_in.status_code == 200, signed_in.text
    token: str = signed_in.json()["token"]
    return token


async def test_an_admins_socket_only_from_allowed_networks(
    fenced: LiveServer, make_agent: Any
) -> None:
    """The websocket authenticates itself, past the HTTP guards: the fence is applied there too."""
    admin, agent = await make_agent("admin"), await make_agent("agent")
    async with httpx.AsyncClient(base_url=fenced.base_url) as http:
        admin_token, agent_token = await _token(http, admin), await _token(http, agent)
        url = f"ws://127.0.0.1:{fenced.port}/api/v1/ws?token="
        async with connect(
            url + admin_token, additional_headers={"X-Forwarded-For": OUTSIDE}
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        assert "ADMIN_ALLOWED_CIDRS" in closed.value.rcvd.reason
        for token, address in ((admin_token, INSIDE), (agent_token, OUTSIDE)):
            async with connect(url + token, additional_headers={"X-Forwarded-For": address}) as ws:
                name = unique("Renamed")
                renamed = await http.patch(
                    f"/api/v1/agents/{agent['id']}", json={"name": name},
                    headers={"Authorization": f"Bearer {admin_token}", "X-Forwarded-For": INSIDE},
                )  # fmt: skip
                assert renamed.status_code == 200, renamed.text
                async with asyncio.timeout(5):
                    while True:  # the socket is open and carries events
                        frame = json.loads(await ws.recv())
                        if (
                            frame["type"] == "agent.updated"
                            and frame["data"]["agent"]["name"] == name
                        ):
                            break


async def test_forwarded_for_counts_only_from_trusted_proxies(untrusting: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=untrusting.base_url) as http:
        raw, headers = _webhook()
        claimed = await http.post(
            "/webhooks/whatsapp", content=raw, headers={**headers, "X-Forwarded-For": INSIDE}
        )
        assert claimed.status_code == 403  # 127.0.0.1 is not a trusted proxy here
