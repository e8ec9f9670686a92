"""What a web process counts in memory: the leaf every counting module imports.

It imports nothing of ours but the bucket bounds, so the webhook routes, the websocket and the
ingest path can count without pulling in `web.py` (which reads agents, conversations and SLA
clocks at scrape time); `/metrics` itself is registered by app assembly (backend/app.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from backend.metrics.shared import LATENCY_BUCKETS

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "switchboard_webhooks_received", "Webhook requests by provider and HTTP status",
    ["provider", "status"], registry=REGISTRY,
)  # fmt: skip
WEBHOOK_SECONDS = Histogram(
    "switchboard_webhook_duration_seconds", "Webhook handling time, until the answer is sent",
    ["provider"], buckets=LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
INBOUND_MESSAGES = Counter(
    "switchboard_inbound_messages", "Customer messages stored from webhooks (duplicates excluded)",
    registry=REGISTRY,
)  # fmt: skip
UNREADABLE_ITEMS = Counter(
    "switchboard_webhook_unreadable_items",
    "Webhook items kept without being read: messages stored as unsupported (kind=message) and "
    "parts naming no customer or message, kept in webhook_rejects (kind=entry|change|status|...)",
    ["provider", "kind"], registry=REGISTRY,
)  # fmt: skip
GROUP_ITEMS = Counter(
    "switchboard_webhook_group_items",
    "WhatsApp group events, group messages and group statuses: answered 200, counted, not stored",
    ["provider", "kind"], registry=REGISTRY,
)  # fmt: skip
LIVE_GAP_READS = Counter(
    "switchboard_live_gap_reads",
    "Times this process's live feed read the events table for numbers that had not arrived "
    "within the reorder window (once for all of its sockets)",
    registry=REGISTRY,
)  # fmt: skip
WEBSOCKETS = Gauge(
    "switchboard_websocket_connections", "Open inbox websockets on this web process",
    registry=REGISTRY,
)  # fmt: skip
