"""Where webhooks may go: https to public addresses, checked again after DNS at every send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.integrations import addresses
from backend.integrations.addresses import UnsafeTarget, resolve_target
from backend.integrations.delivery import post_once
from backend.integrations.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import login
from tests.support.business_system import BusinessSystem, start_business_system
from tests.support.servers import LiveServer, start_server


@pytest.fixture(scope="module")
def strict_server(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(
        settings.model_copy(update={"outgoing_webhooks_allow_private_networks": False})
    )
    yield live
    live.stop()


@pytest.fixture
async def strict(strict_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=strict_server.base_url, timeout=15) as http:
        yield http


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hooks",  # not https
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",  # a name that resolves to loopback
        "https://user:pw@93.184.216.34/hooks",
        "ftp://93.184.216.34/hooks",
    ],
)
async def test_private_and_non_https_urls_are_refused(
    strict: httpx.AsyncClient, make_agent: Any, url: str
) -> None:
    admin = await login(strict, await make_agent("admin"))
    refused = await strict.post(
        "/api/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]


async def test_a_public_https_url_is_accepted(strict: httpx.AsyncClient, make_agent: Any) -> None:
    admin = await login(strict, await make_agent("admin"))
    created = await strict.post(
        "/api/v1/webhook-endpoints", json={"url": "https://93.184.216.34/hooks", "events": ["*"]},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    await strict.delete(f"/api/v1/webhook-endpoints/{created.json()['id']}", headers=admin)


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in for DNS: `hooks.example.test` answers whatever the list holds right now."""
    answers = ["93.184.216.34"]

    async def resolve(host: str, port: int) -> list[str]:
        if host == "hooks.example.test":
            return list(answers)
        raise OSError("no such host")

    monkeypatch.setattr(addresses, "resolver", resolve)
    return answers


async def test_a_name_that_rebinds_to_loopback_is_refused_at_send_time(
    rebinding: list[str], settings: Settings
) -> None:
    system: BusinessSystem = start_business_system()
    try:
        url = f"https://hooks.example.test:{system.port}/hooks"
        target = await resolve_target(url, allow_private=False)
        assert target.address == "93.184.216.34" and target.url.startswith("https://93.184.216.34:")
        assert target.host == "hooks.example.test"
        rebinding[:] = ["93.184.216.34", "127.0.0.1"]  # the name changed its answer since
        with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1"):
            await resolve_target(url, allow_private=False)
        strict = settings.model_copy(update={"outgoing_webhooks_allow_private_networks": False})
        endpoint = WebhookEndpoint(url=url, events=["*"], secret="whsec_x")
        delivery = WebhookDelivery(public_id="whd_x", endpoint_id=1, event_seq=1,
                                   event_type="test.x", body={"id": "whd_x"})  # fmt: skip
        async with httpx.AsyncClient() as http:
            result = await post_once(http, strict, endpoint, delivery)
        assert result.status_code is None and result.error and "refused" in result.error
        assert system.received == []  # nothing reached the loopback receiver
    finally:
        system.stop()


async def test_the_checked_address_is_the_one_connected_to(
    rebinding: list[str], settings: Settings
) -> None:
    """With private networks allowed the pinned address is used, the name only in Host."""
    system = start_business_system()
    system.secrets.append("whsec_pin")
    try:
        rebinding[:] = ["127.0.0.1"]
        endpoint = WebhookEndpoint(
            url=f"http://hooks.example.test:{system.port}/hooks", events=["*"], secret="whsec_pin"
        )
        delivery = WebhookDelivery(public_id="whd_pin", endpoint_id=1, event_seq=1,
                                   event_type="test.pin", body={"id": "whd_pin", "seq": 1})  # fmt: skip
        async with httpx.AsyncClient(trust_env=False) as http:
            result = await post_once(http, settings, endpoint, delivery)
        assert result.status_code == 200, result
        [got] = system.received
        assert got.headers["host"] == f"hooks.example.test:{system.port}"
        assert got.verified_with == ["whsec_pin"]
    finally:
        system.stop()
