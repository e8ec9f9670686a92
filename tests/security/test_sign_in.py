"""Sign-in: throttling that never locks the real agent out, a password policy, TOTP two-factor
with recovery codes (enforceable per role), and one's sessions with sign-out everywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest

from backend.config import Settings
from tests.conftest import login, unique
from tests.support.servers import LiveServer, start_server

LOGIN = "/api/v1/auth/login"


def source(ip: str) -> dict[str, str]:
    """uvicorn takes the client address from X-Forwarded-For of a trusted (loopback) proxy."""
    return {"X-Forwarded-For": ip}


async def test_an_attacker_cannot_lock_the_real_agent_out(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent")
    wrong = {"email": agent["email"], "password": "wrong-wrong-wrong"}
    for _ in range(5):
        assert (
            await client.post(LOGIN, json=wrong, headers=source("203.0.113.66"))
        ).status_code == 401
    right = {"email": agent["email"], "password": agent["password"]}
    attacker = await client.post(LOGIN, json=right, headers=source("203.0.113.66"))
    assert attacker.status_code == 429 and attacker.headers["retry-after"] == "60"
    real = await client.post(LOGIN, json=right, headers=source("198.51.100.7"))
    assert real.status_code == 200, real.text


async def test_password_spraying_from_one_source_is_stopped(
    client: httpx.AsyncClient, make_agent: Any, app_settings: Settings
) -> None:
    sprayer = source("203.0.113.99")
    for n in range(app_settings.login_attempts_per_source_per_minute):
        body = {"email": f"{unique('nobody')}@example.test", "password": f"guess-{n}"}
        assert (await client.post(LOGIN, json=body, headers=sprayer)).status_code == 401
    agent = await make_agent("agent")
    right = {"email": agent["email"], "password": agent["password"]}
    assert (await client.post(LOGIN, json=right, headers=sprayer)).status_code == 429
    assert (await client.post(LOGIN, json=right, headers=source("198.51.100.8"))).status_code == 200


@pytest.mark.parametrize("weak", ["12345678", "password", "        ", "qwertyuiop", "aaaaaaaaaa"])
async def test_weak_passwords_are_refused_with_a_reason(
    client: httpx.AsyncClient, make_agent: Any, weak: str
) -> None:
    admin = await login(client, await make_agent("admin"))
    created = await client.post(
        "/api/v1/agents", headers=admin,
        json={"email": f"{unique('weak')}@example.test", "password": weak, "name": "Weak",
              "role": "agent", "teams": ["General"]},
    )  # fmt: skip
    assert created.status_code == 422, created.text
    assert "password" in created.json()["detail"]
    agent = await make_agent("agent")
    own = await client.post(
        "/api/v1/me/password", json={"current": agent["password"], "new": weak},
        headers=await login(client, agent),
    )  # fmt: skip
    assert own.status_code == 422, own.text


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def test_two_factor_sign_in_with_codes_and_recovery_codes(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent")
    headers = await login(client, agent)
    setup = (await client.post("/api/v1/me/two-factor/setup", headers=headers)).json()
    assert setup["otpauth_url"].startswith("otpauth://totp/")
    wrong = await client.post(
        "/api/v1/me/two-factor/enable", json={"code": "000000"}, headers=headers
    )
    assert wrong.status_code == 422
    enabled = await client.post(
        "/api/v1/me/two-factor/enable", json={"code": _code(setup["secret"])}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    recovery = enabled.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10

    body = {"email": agent["email"], "password": agent["password"]}
    asked = await client.post(LOGIN, json=body)
    assert asked.status_code == 401 and asked.json()["two_factor_required"] is True
    assert "token" not in asked.json()
    bad = await client.post(LOGIN, json={**body, "code": "123456"})
    assert bad.status_code == 401
    code = _code(setup["secret"], 1)
    ok = await client.post(LOGIN, json={**body, "code": code})
    assert ok.status_code == 200 and ok.json()["token"]
    replayed = await client.post(LOGIN, json={**body, "code": code})
    assert replayed.status_code == 401  # each code once
    first = await client.post(LOGIN, json={**body, "code": recovery[0]})
    assert first.status_code == 200
    again = await client.post(LOGIN, json={**body, "code": recovery[0]})
    assert again.status_code == 401  # a recovery code is used up
    state = (await client.get("/api/v1/me/two-factor", headers=headers)).json()
    assert state == {"enabled": True, "required": False, "recovery_codes_left": 9}
    off = await client.post(
        "/api/v1/me/two-factor/disable", json={"password": agent["password"]}, headers=headers
    )
    assert off.status_code == 200
    assert (await client.post(LOGIN, json=body)).status_code == 200


@pytest.fixture(scope="module")
def admins_need_two_factor(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings.model_copy(update={"two_factor_required_roles": ["admin"]}))
    yield live
    live.stop()


async def test_a_role_can_be_made_to_need_two_factor(
    admins_need_two_factor: LiveServer, make_agent: Any
) -> None:
    admin, agent = await make_agent("admin"), await make_agent("agent")
    async with httpx.AsyncClient(base_url=admins_need_two_factor.base_url) as http:
        a, plain = await login(http, admin), await login(http, agent)
        assert (await http.get("/api/v1/conversations", headers=plain)).status_code == 200
        refused = await http.get("/api/v1/conversations", headers=a)
        assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
        assert (await http.get("/api/v1/auth/me", headers=a)).status_code == 200
        state = (await http.get("/api/v1/me/two-factor", headers=a)).json()
        assert state["required"] is True and state["enabled"] is False
        setup = (await http.post("/api/v1/me/two-factor/setup", headers=a)).json()
        enabled = await http.post(
            "/api/v1/me/two-factor/enable", json={"code": _code(setup["secret"])}, headers=a
        )
        assert enabled.status_code == 200
        assert (await http.get("/api/v1/conversations", headers=a)).status_code == 200


async def test_sessions_are_listed_and_signed_out_everywhere(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent")
    laptop = await login(client, agent)
    async with httpx.AsyncClient(base_url=client.base_url) as phone_client:
        phone = await login(phone_client, agent)
    tablet = await login(client, agent)
    listed = (await client.get("/api/v1/me/sessions", headers=laptop)).json()["items"]
    assert len(listed) == 3 and [s["current"] for s in listed].count(True) == 1
    others = [s for s in listed if not s["current"]]
    ended = await client.delete(f"/api/v1/me/sessions/{others[0]['id']}", headers=laptop)
    assert ended.status_code == 200
    statuses = [
        (await client.get("/api/v1/auth/me", headers=h)).status_code for h in (phone, tablet)
    ]
    assert sorted(statuses) == [200, 401]
    assert len((await client.get("/api/v1/me/sessions", headers=laptop)).json()["items"]) == 2
    everywhere = await client.post("/api/v1/me/sessions/end-all", headers=laptop)
    assert everywhere.status_code == 200
    for h in (laptop, phone, tablet):
        assert (await client.get("/api/v1/auth/me", headers=h)).status_code == 401
    other = await client.get("/api/v1/me/sessions", headers=await login(client, agent))
    assert len(other.json()["items"]) == 1
