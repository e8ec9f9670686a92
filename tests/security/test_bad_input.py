"""Bad input is a 4xx with a reason, never a 500; and a 500 that still happens is logged."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from backend.channels.sandbox.webhooks import text_message_webhook
from backend.core.errors import ERROR_HANDLERS
from backend.core.logging import configure_logging
from backend.core.request_id import RequestIdMiddleware
from tests.conftest import login, unique
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id, post_webhook

BIG = 2**64


async def _admin(client: httpx.AsyncClient, make_agent: Any) -> dict[str, str]:
    return await login(client, await make_agent("admin"))


def _int_params(op: dict[str, Any]) -> list[dict[str, Any]]:
    def is_int(schema: dict[str, Any]) -> bool:
        return schema.get("type") == "integer" or any(
            is_int(s) for s in schema.get("oneOf", []) + schema.get("anyOf", [])
        )

    return [p for p in op.get("parameters", []) if is_int(p.get("schema", {}))]


async def test_integers_beyond_64_bits_are_a_400_on_every_operation(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    """Every operation with an int path or query parameter, and every JSON body, given 2**64."""
    headers = await _admin(client, make_agent)
    schema = (await client.get("/schema/openapi.json")).json()
    tried: list[str] = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            ints = _int_params(op)
            body = "application/json" in op.get("requestBody", {}).get("content", {})
            if not ints and not body:
                continue
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", "1")
            query = {p["name"]: str(BIG) for p in ints if p["in"] == "query"}
            for param in ints:
                if param["in"] == "path":
                    url = path.replace("{" + param["name"] + "}", str(BIG))
                    url = re.sub(r"\{[^}]+\}", "1", url)
            payload = {"id": BIG, "channel_id": BIG, "nested": [{"n": -BIG}]} if body else None
            response = await client.request(
                method.upper(), url, params=query, json=payload, headers=headers
            )
            tried.append(f"{method.upper()} {path}")
            assert response.status_code < 500, (method, path, response.text)
            if path.startswith("/api/v1/messages") and method == "post" and not ints:
                continue  # API-key routes refuse a session first (403)
            assert response.status_code == 400, (method, path, response.text)
            assert "out of range" in response.json()["detail"], (method, path, response.text)
    assert len(tried) >= 22, tried


async def test_the_ultramsg_webhook_refuses_huge_numbers_with_a_reason(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await _admin(client, make_agent)
    created = await client.post(
        "/api/v1/channels", headers=headers,
        json={"name": unique("um"), "provider": "ultramsg", "phone_number_id": unique("inst"),
              "access_token": "um-token"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    webhook = created.json()["webhook_url"].split("127.0.0.1", 1)[1].split(":", 1)[1]
    webhook = webhook[webhook.index("/") :]
    body = {"event_type": "message_received",
            "data": {"id": "x1", "from": "4915100000000@c.us", "time": BIG, "body": "hi",
                     "type": "chat"}}  # fmt: skip
    response = await client.post(webhook, json=body)
    assert response.status_code == 400 and "body.data.time" in response.json()["detail"]
    body["data"]["time"] = 2**62  # within 64 bits, beyond any date
    response = await client.post(webhook, json=body)
    assert response.status_code == 400, response.text


async def test_a_huge_number_in_one_cloud_api_message_keeps_its_neighbours(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("agent"))
    good, odd = new_wa_id(), new_wa_id()
    body = text_message_webhook("sandbox", good, "Good Neighbour", "still here")
    bad = text_message_webhook("sandbox", odd, "Odd One", "big")["entry"][0]["changes"][0]
    bad["value"]["messages"][0]["timestamp"] = BIG
    bad["value"]["messages"][0]["extra"] = -BIG
    body["entry"][0]["changes"].append(bad)
    response = await post_webhook(client, body)
    assert response.status_code == 200, response.text
    conversation = await find_conversation(client, headers, good)
    assert conversation["last_message"]["text"] == "still here"


async def test_assignee_must_be_me_or_an_id(client: httpx.AsyncClient, make_agent: Any) -> None:
    headers = await login(client, await make_agent("agent"))
    for value in ("null", "x", "1e3", str(BIG)):
        response = await client.get(
            "/api/v1/conversations", params={"assignee": value}, headers=headers
        )
        assert response.status_code == 400, (value, response.text)
        assert "assignee" in response.text
    assert (
        await client.get("/api/v1/conversations", params={"assignee": "me"}, headers=headers)
    ).status_code == 200


async def test_an_interactive_reply_is_checked_like_the_cloud_api(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("agent"))
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "Hello")
    conversation = await find_conversation(client, headers, wa_id)
    cid = conversation["id"]
    assert (await client.post(f"/api/v1/conversations/{cid}/claim", headers=headers)).is_success
    for interactive in (
        {"type": "button", "body": "x"},
        {"type": "button", "body": {"text": "x"}, "action": "no"},
        {"type": "button", "body": {"text": "x"}, "action": {"buttons": [{"type": "reply"}]}},
        {"type": "list", "body": {"text": "x"}, "action": {"button": "b", "sections": 3}},
    ):
        response = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"interactive": interactive},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 422, (interactive, response.text)
        assert response.json()["detail"].startswith("interactive: ")
    ok = {"type": "button", "body": {"text": "Pick"},
          "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]}}  # fmt: skip
    response = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"interactive": ok}, headers=headers
    )
    assert response.status_code == 202, response.text


async def test_a_channel_secret_cannot_be_patched_to_null(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await _admin(client, make_agent)
    created = await client.post(
        "/api/v1/channels", headers=headers,
        json={"name": unique("c"), "phone_number_id": unique("pn"), "access_token": "t1",
              "app_secret": "s1"},
    )  # fmt: skip
    cid = created.json()["id"]
    for field in ("access_token", "app_secret", "name", "rate_per_second"):
        response = await client.patch(
            f"/api/v1/channels/{cid}", json={field: None}, headers=headers
        )
        assert response.status_code == 400, response.text
        assert f"{field} cannot be null" in response.text
    cleared = await client.patch(
        f"/api/v1/channels/{cid}", json={"business_account_id": None}, headers=headers
    )
    assert cleared.status_code == 200 and cleared.json()["has_access_token"] is True


async def test_a_nul_in_the_path_is_a_400(client: httpx.AsyncClient) -> None:
    for path in ("/index.html%00.js", "/assets/%00", "/api/v1/conversations/%00"):
        response = await client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    response = await client.get("/index.html%00.js")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


@get("/boom", sync_to_thread=False)
def _boom() -> None:
    """Stands in for any bug: a route that raises what no handler expects."""
    raise KeyError("a bug")


async def test_an_unhandled_error_is_logged_with_request_id_and_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    app = Litestar([_boom], middleware=[RequestIdMiddleware()], exception_handlers=ERROR_HANDLERS,
                   logging_config=None)  # fmt: skip
    try:
        async with AsyncTestClient(app) as test_client:
            response = await test_client.get("/boom", headers={"X-Request-ID": "req-boom-1"})
        assert response.status_code == 500
        assert response.json() == {"status_code": 500, "detail": "internal server error"}
        assert response.headers["x-request-id"] == "req-boom-1"
        lines = [
            json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
        ]
        logged = [line for line in lines if line.get("event") == "unhandled error"]
        assert logged, lines
        assert logged[0]["request_id"] == "req-boom-1" and logged[0]["path"] == "/boom"
        assert "Traceback" in logged[0]["exception"] and "KeyError" in logged[0]["exception"]
    finally:
        configure_logging("console", "WARNING")


async def test_the_schema_lists_the_errors_operations_give(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    def codes(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"400", "401", "403", "404", "409"} <= codes(
        "/api/v1/conversations/{conversation_id}/claim", "post"
    )
    assert {"401", "403", "404", "422"} <= codes("/api/v1/channels/{channel_id}", "patch")
    assert {"401", "429"} <= codes("/api/v1/auth/login", "post")
    assert {"400", "401", "503"} <= codes("/webhooks/whatsapp", "post")
    assert codes("/health", "get") == {"200"}
    error = paths["/api/v1/conversations/{conversation_id}/claim"]["post"]["responses"]["409"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
