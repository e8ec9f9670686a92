"""The jobs the worker runs; each is idempotent because arq is at-least-once."""

from __future__ import annotations

from typing import Any

from backend.bots.jobs import bot_step, bot_undelivered
from backend.conversations.jobs import (
    drain_agent,
    drain_queue,
    hand_back_conversations,
    snooze_sweep,
    wake_snoozed,
)
from backend.integrations.jobs import deliver_webhook, webhook_fan_out, webhook_sweep
from backend.media.jobs import download_media, media_sweep
from backend.notifications.jobs import notify
from backend.realtime.retention import prune_events
from backend.sla.jobs import sla_apply, sla_reconcile, sla_timer
from backend.surveys.jobs import send_survey, survey_reply, survey_sweep
from backend.templates.jobs import sync_all_templates
from worker.sending import mark_read, reconcile_outbox, send_message, show_typing

JOBS: list[Any] = [prune_events, send_message, reconcile_outbox, mark_read, drain_queue, drain_agent,
                   hand_back_conversations,
                   bot_step, bot_undelivered, send_survey, survey_reply, survey_sweep, sla_apply,
                   sla_timer, sla_reconcile, sync_all_templates, webhook_fan_out, deliver_webhook,
                   webhook_sweep,
                   download_media, media_sweep, notify, wake_snoozed, snooze_sweep, show_typing]  # fmt: skip
