"""Sign-in over real HTTP: tokens, cookies, throttling, role guards, CSRF, sign-out."""

from __future__ import annotations

from typing import Any

import httpx

from backend.agents.auth import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import login, unique


async def test_login_returns_token_agent_and_httponly_cookie(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent", teams=["General", "Orders"])
    response = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"].upper(), "password": agent["password"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"].count(".") == 2
    assert body["agent"] == {
        "id": agent["id"], "email": agent["email"], "name": agent["name"], "role": "agent",
        "teams": ["General", "Orders"], "presence": "offline", "capacity": 5, "active": True,
    }  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent()
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": f"{unique()}@example.test", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_failed_logins_are_throttled_per_email(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent()
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/login", json={"email": agent["email"], "password": "wrong-wrong"}
        )
        assert response.status_code == 401
    throttled = await client.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "60"
    other = await make_agent()
    assert (
        await client.post(
            "/api/v1/auth/login", json={"email": other["email"], "password": other["password"]}
        )
    ).status_code == 200


async def test_no_token_is_401_and_bad_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/agents")).status_code == 401
    assert (
        await client.get("/api/v1/agents", headers={"Authorization": "Bearer not.a.token"})
    ).status_code == 401


async def test_an_agent_gets_403_on_an_admin_route(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    agent = await make_agent("agent")
    headers = await login(client, agent)
    body = {"email": f"{unique()}@example.test", "password": "long-enough-1", "name": "New"}
    response = await client.post("/api/v1/agents", json=body, headers=headers)
    assert response.status_code == 403
    admin = await make_agent("admin")
    response = await client.post("/api/v1/agents", json=body, headers=await login(client, admin))
    assert response.status_code == 201
    assert response.json()["email"] == body["email"]


async def test_cookie_requests_need_the_csrf_token(server: Any, make_agent: Any) -> None:
    agent = await make_agent()
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await browser.post(
            "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
        )
        me = await browser.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["id"] == agent["id"]
        csrf = browser.cookies.get(CSRF_COOKIE)
        assert csrf
        refused = await browser.post("/api/v1/agents/me/presence", json={"presence": "online"})
        assert refused.status_code == 403
        accepted = await browser.post(
            "/api/v1/agents/me/presence",
            json={"presence": "online"},
            headers={"x-csrf-token": csrf},
        )
        assert accepted.status_code == 200 and accepted.json()["presence"] == "online"


async def test_logout_revokes_the_token(client: httpx.AsyncClient, make_agent: Any) -> None:
    agent = await make_agent()
    headers = await login(client, agent)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
