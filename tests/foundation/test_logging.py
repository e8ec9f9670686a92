"""Logs carry a request id and never a full phone number or a secret."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from backend.core.logging import configure_logging, get_logger


def test_json_lines_mask_phone_numbers_and_secrets(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    get_logger("test").info(
        "message from 4915123456789", access_token="EAAG-secret", wa_id="4915123456789"
    )
    logging.getLogger("uvicorn.error").info('"GET /api/v1/ws?token=eyJ.abc.def&after=3 HTTP/1.1"')
    lines = [json.loads(line) for line in capfd.readouterr().err.strip().splitlines()]
    first, second = lines[-2], lines[-1]
    assert first["event"] == "message from …6789" and first["wa_id"] == "…6789"
    assert first["access_token"] == "[redacted]"
    assert "eyJ" not in second["event"] and "token=[redacted]" in second["event"]
    assert first["level"] == "info" and first["timestamp"].endswith("Z")
    configure_logging("console", "WARNING")


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert len(response.headers["x-request-id"]) >= 8
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
