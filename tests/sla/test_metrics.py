"""`/metrics` in Prometheus format: web counters, worker counters kept in Redis, figures read from
the database when scraped; and the example alert rules only use series that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.sla.support import queue_into, team_with_policy, wait_for
from tests.support.servers import LiveWorker
from tests.support.whatsapp import customer_says, new_wa_id

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


async def scrape(client: httpx.AsyncClient) -> tuple[set[str], dict[tuple[str, frozenset[tuple[str, str]]], float]]:  # fmt: skip
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families, samples = set(), {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return families, samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_expose_webhooks_queues_sends_and_jobs(
    client: httpx.AsyncClient, make_agent: Any, worker: LiveWorker
) -> None:
    _, before = await scrape(client)
    team = await team_with_policy(client, make_agent, first_response_seconds=3600)
    queued = await queue_into(client, team)
    await customer_says(client, new_wa_id(), "another one")
    await client.post(f"/api/v1/conversations/{queued['id']}/claim", headers=team.agent_headers)
    sent = await client.post(
        f"/api/v1/conversations/{queued['id']}/messages", json={"text": "Hello"},
        headers=team.agent_headers,
    )  # fmt: skip
    assert sent.status_code == 202

    async def settled() -> dict[Any, float] | None:
        _, now = await scrape(client)
        done = value(now, "switchboard_send_outcomes_total", outcome="sent", code="none")
        sent_now = done > value(
            before, "switchboard_send_outcomes_total", outcome="sent", code="none"
        )
        # The SLA reaction runs beside the send, not before it: wait for both to have run.
        sla_ran = value(now, "switchboard_job_delay_seconds_count", job="sla_apply") > 0
        return now if sent_now and sla_ran else None

    after = await wait_for(settled)
    webhooks = "switchboard_webhooks_received_total"
    assert value(after, webhooks, provider="whatsapp", status="200") >= value(before, webhooks, provider="whatsapp", status="200") + 2  # fmt: skip
    assert value(after, "switchboard_inbound_messages_total") >= value(before, "switchboard_inbound_messages_total") + 2  # fmt: skip
    assert value(after, "switchboard_webhook_duration_seconds_count", provider="whatsapp") > 0
    assert value(after, "switchboard_conversations_assigned", team=team.name) == 1
    assert value(after, "switchboard_queue_depth", team=team.name) == 0
    assert ("switchboard_queue_oldest_wait_seconds", frozenset({("team", team.name)})) in after
    assert value(after, "switchboard_job_duration_seconds_count", job="send_message") > 0
    assert value(after, "switchboard_job_delay_seconds_count", job="sla_apply") > 0
    assert (
        value(after, "switchboard_messages", direction="outbound", status="sent")
        + value(after, "switchboard_messages", direction="outbound", status="delivered")
        + value(after, "switchboard_messages", direction="outbound", status="read")
        > 0
    )
    assert value(after, "switchboard_worker_up") == 1


async def test_every_series_the_alert_rules_use_is_exposed(client: httpx.AsyncClient) -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(expressions) >= 4
    used = {name for expr in expressions for name in re.findall(r"\bswitchboard_[a-z_]+", expr)}
    families, samples = await scrape(client)
    exposed = families | {name for name, _ in samples}
    for name in used:
        base = name
        for suffix in SUFFIXES:
            base = base.removesuffix(suffix)
        assert name in exposed or base in families, f"{name} is used by an alert but not exposed"
    # The four alerts the operations guide promises.
    text = ALERTS.read_text()
    for needle in ("inbound_messages", "send_outcomes", 'code=~"132', "queue_depth"):
        assert needle in text
