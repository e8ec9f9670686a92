"""Limits: text and names capped at WhatsApp's own at ingest (no live frame is kept: each process
decodes an event once, as it arrives, see backend/realtime/fanout.py), /metrics
behind METRICS_TOKEN, and CSV exports that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.channels.sandbox.webhooks import text_message_webhook
from backend.config import Settings
from backend.conversations.limits import NAME_LIMIT, TEXT_LIMIT
from backend.core.spreadsheets import safe_cell
from tests.conftest import login
from tests.support.servers import LiveServer, start_server
from tests.support.whatsapp import customer_says, find_conversation, new_wa_id, post_webhook


async def test_text_and_names_are_capped_at_ingest(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    headers = await login(client, await make_agent("agent"))
    wa_id = new_wa_id()
    body = text_message_webhook("sandbox", wa_id, "N" * 5000, "x" * 100_000)
    assert (await post_webhook(client, body)).status_code == 200
    conversation = await find_conversation(client, headers, wa_id)
    assert len(conversation["contact"]["name"]) == NAME_LIMIT
    messages = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=headers
    )
    stored = messages.json()["items"][-1]
    assert len(stored["text"]) == TEXT_LIMIT and stored["text"].endswith("…")
    assert len(stored["payload"]["body"]) <= TEXT_LIMIT, list(stored["payload"])
    assert len(messages.content) < 40_000  # nothing of the 100,000 characters is carried along


@pytest.fixture(scope="module")
def guarded_metrics(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings.model_copy(update={"metrics_token": "metrics-token-for-tests"}))
    yield live
    live.stop()


async def test_metrics_need_the_token_when_one_is_set(guarded_metrics: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=guarded_metrics.base_url) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await http.get("/metrics", headers={"Authorization": "Bearer metrics-token-for-tests"})
        assert ok.status_code == 200 and "switchboard_" in ok.text


def test_formula_cells_are_neutralized() -> None:
    for value in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(value) == "'" + value
    for value in ("Anna", "49151", 42, 3.5, "", None, "a=b"):
        assert safe_cell(value) == value


async def test_the_report_export_neutralizes_a_customer_named_like_a_formula(
    client: httpx.AsyncClient, make_agent: Any
) -> None:
    lead = await login(client, await make_agent("lead"))
    wa_id = new_wa_id()
    await customer_says(client, wa_id, "hi", name='=HYPERLINK("http://evil.example","x")')
    now = datetime.now(UTC)
    period = {"start": (now - timedelta(hours=1)).isoformat(),
              "end": (now + timedelta(hours=1)).isoformat()}  # fmt: skip
    exported = await client.get("/api/v1/reports/export.csv", params=period, headers=lead)
    assert exported.status_code == 200, exported.text
    contacts = [row["contact"] for row in csv.DictReader(io.StringIO(exported.text))]
    assert '\'=HYPERLINK("http://evil.example","x")' in contacts, contacts
    assert not any(c.startswith(("=", "+", "-", "@")) for c in contacts)
