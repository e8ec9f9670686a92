"""Prometheus metrics: what the web process counts itself, what the worker leaves in Redis, and
what is read from the database at scrape time (see docs/sla.md, "Metrics")."""
