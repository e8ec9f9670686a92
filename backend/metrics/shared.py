"""Counters and histograms that any process can add to and the web's `/metrics` reads: in Redis.

The web and the worker are separate processes (and there may be several of each), so the worker
cannot use an in-memory registry that the web exposes. prometheus-client's multiprocess mode needs
a shared directory on one host, which the docker-compose deployment does not have. Instead the
worker adds to Redis hashes (one HINCRBYFLOAT per series, pipelined); the web turns them into
metric families when scraped. The totals are cluster-wide: aggregate them with `max`, not `sum`,
when several web processes are scraped. Recording is best effort and never fails a job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from redis.asyncio import Redis

from backend.core.logging import get_logger

log = get_logger(__name__)

COUNTERS_KEY = "switchboard:metrics:counters"
HISTOGRAMS_KEY = "switchboard:metrics:histograms"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Spec:
    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


COUNTERS = {
    spec.name: spec
    for spec in (
        Spec(
            "switchboard_send_outcomes",
            "Send attempts by outcome (sent, retrying, failed, dead) "
            "and Graph error code (none when sent)",
            ("outcome", "code"),
        ),
        Spec("switchboard_jobs_failed", "Worker jobs that ended with an exception", ("job",)),
        Spec(
            "switchboard_sla_warnings",
            "SLA clocks that reached their warning point",
            ("team", "kind"),
        ),
        Spec("switchboard_sla_breaches", "SLA clocks that passed their deadline", ("team", "kind")),
        Spec(
            "switchboard_sla_timers",
            "SLA timer jobs by outcome (warned, breached, stale, early)",
            ("outcome",),
        ),
    )
}
HISTOGRAMS = {
    spec.name: spec
    for spec in (
        Spec(
            "switchboard_job_delay_seconds",
            "From a job's scheduled moment to its start",
            ("job",),
            LATENCY_BUCKETS,
        ),
        Spec(
            "switchboard_job_duration_seconds",
            "How long worker jobs run",
            ("job",),
            LATENCY_BUCKETS,
        ),
    )
}


def _field(name: str, labels: dict[str, str], suffix: str = "") -> str:
    spec = COUNTERS.get(name) or HISTOGRAMS[name]
    values = "\x1f".join(str(labels.get(label, "")) for label in spec.labels)
    return f"{name}\x1e{values}\x1e{suffix}"


async def count(redis: Redis, name: str, labels: dict[str, str], amount: float = 1.0) -> None:
    try:
        await redis.hincrbyfloat(COUNTERS_KEY, _field(name, labels), amount)  # type: ignore[misc]
    except Exception as error:
        log.debug("metric not recorded", metric=name, error=type(error).__name__)


async def observe(redis: Redis, name: str, labels: dict[str, str], value: float) -> None:
    spec = HISTOGRAMS[name]
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for bound in (*spec.buckets, math.inf):
                if value <= bound:
                    pipe.hincrbyfloat(HISTOGRAMS_KEY, _field(name, labels, repr(bound)), 1)
            pipe.hincrbyfloat(HISTOGRAMS_KEY, _field(name, labels, "sum"), value)
            pipe.hincrbyfloat(HISTOGRAMS_KEY, _field(name, labels, "count"), 1)
            await pipe.execute()
    except Exception as error:
        log.debug("metric not recorded", metric=name, error=type(error).__name__)


def _split(raw: Any) -> tuple[str, tuple[str, ...], str]:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    name, values, suffix = text.split("\x1e")
    return name, tuple(values.split("\x1f")), suffix


async def shared_families(redis: Redis) -> list[Metric]:
    """Every shared metric, present (with no samples) even before anything was recorded."""
    counters = {
        n: CounterMetricFamily(n, s.help, labels=list(s.labels)) for n, s in COUNTERS.items()
    }
    histograms = {
        n: HistogramMetricFamily(n, s.help, labels=list(s.labels)) for n, s in HISTOGRAMS.items()
    }
    try:
        counter_values = await redis.hgetall(COUNTERS_KEY)  # type: ignore[misc]
        histogram_values = await redis.hgetall(HISTOGRAMS_KEY)  # type: ignore[misc]
    except Exception as error:
        log.warning("shared metrics unavailable", error=type(error).__name__)
        counter_values, histogram_values = {}, {}
    for raw, value in counter_values.items():
        name, labels, _ = _split(raw)
        if name in counters and len(labels) == len(COUNTERS[name].labels):
            counters[name].add_metric(list(labels), float(value))
    series: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    for raw, value in histogram_values.items():
        name, labels, suffix = _split(raw)
        if name in histograms:
            series.setdefault((name, labels), {})[suffix] = float(value)
    for (name, labels), values in sorted(series.items()):
        spec = HISTOGRAMS[name]
        buckets = [
            (_le(bound), values.get(repr(bound), 0.0)) for bound in (*spec.buckets, math.inf)
        ]
        histograms[name].add_metric(list(labels), buckets, values.get("sum", 0.0))
    return [*counters.values(), *histograms.values()]


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)
