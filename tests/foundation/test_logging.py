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


def _arq_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    arq = logging.getLogger("arq.worker")  # the logger and formats arq itself uses
    arq.info("%6.2fs → %s(%s)%s", 0.01, "cron:heartbeat", "", "")
    arq.info("%6.2fs ← %s ● %s", 0.0, "cron:heartbeat", "")
    arq.info("%6.2fs → %s(%s)%s", 0.02, "4f1c:send_message", "42", "")
    arq.info("recording health: %s", "Dec-01 j_complete=3 j_failed=0 j_retried=0 j_ongoing=0")
    arq.info("%6.2fs ↻ %s retrying job in %0.2fs", 0.1, "4f1c:send_message", 15.0)
    arq.error("%6.2fs ! %s failed, %s: %s", 0.1, "9a2b:bot_step", "ValueError", "bad")
    get_logger("worker.sending").info("send failed", message_id=42, code=131047)
    return [json.loads(line) for line in capfd.readouterr().err.strip().splitlines()]


def test_an_idle_worker_is_quiet_at_info(capfd: pytest.CaptureFixture[str]) -> None:
    """Cron ticks and routine job starts and ends are DEBUG; what a person acts on stays."""
    capfd.readouterr()
    configure_logging("json", "INFO")
    try:
        events = [line["event"] for line in _arq_lines(capfd)]
    finally:
        configure_logging("console", "WARNING")
    assert not any("heartbeat" in e or "recording health" in e or "→" in e for e in events)
    assert any("retrying job" in e for e in events)
    assert any("bot_step failed" in e for e in events)
    assert "send failed" in events


def test_the_routine_lines_show_at_debug(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    configure_logging("json", "DEBUG")
    try:
        lines = _arq_lines(capfd)
    finally:
        configure_logging("console", "WARNING")
    ticks = [line for line in lines if "cron:heartbeat" in line["event"]]
    assert len(ticks) == 2 and {line["level"] for line in ticks} == {"debug"}
    retry = next(line for line in lines if "retrying job" in line["event"])
    assert retry["level"] == "info"
