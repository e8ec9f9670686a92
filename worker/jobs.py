"""The jobs the worker runs; each is idempotent because arq is at-least-once."""

from __future__ import annotations

from typing import Any

from worker.sending import drain_queue, mark_read, reconcile_outbox, send_message

JOBS: list[Any] = [send_message, reconcile_outbox, mark_read, drain_queue]
