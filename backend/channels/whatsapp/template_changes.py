"""Template webhook changes: `entry[].id` is the WhatsApp Business Account, `changes[].value` the
template's news. Kept apart from message parsing; the template library interprets the value."""

from __future__ import annotations

from typing import Any

from backend.channels.base import TemplateChange, WebhookBatch

TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
    }
)


def read_template_change(
    entry: dict[str, Any], change: dict[str, Any], batch: WebhookBatch
) -> None:
    """An odd template change is skipped, never a reason to refuse the messages beside it."""
    account = entry.get("id")
    if isinstance(account, int):
        account = str(account)
    if not isinstance(account, str) or not account:
        return
    batch.template_changes.append(TemplateChange(account, str(change["field"]), change["value"]))
