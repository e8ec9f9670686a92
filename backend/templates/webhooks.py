"""Meta's template webhooks (`message_template_status_update`, `message_template_quality_update`,
`template_category_update`) applied to the library at once, each as a `template.updated` event.

The value shapes are Meta's (see tests/channels/fixtures/pywa/template_*.json). A change for a
template we have not synced yet is left to the next sync rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.channels.base import TemplateChange
from backend.channels.models import Channel
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.templates.models import Template
from backend.templates.services import _emit

log = get_logger(__name__)

# Events that move the template to a status of the same name; the rest keep its status.
STATUS_EVENTS = {
    "APPROVED": "APPROVED", "REJECTED": "REJECTED", "PAUSED": "PAUSED", "DISABLED": "DISABLED",
    "PENDING": "PENDING", "PENDING_DELETION": "PENDING_DELETION", "DELETED": "DELETED",
    "ARCHIVED": "ARCHIVED", "UNARCHIVED": "APPROVED", "REINSTATED": "APPROVED",
    "LIMIT_EXCEEDED": "LIMIT_EXCEEDED", "IN_APPEAL": "IN_APPEAL",
}  # fmt: skip


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "NONE" else None


def _reason(value: dict[str, Any]) -> str | None:
    """Meta's reason, the longer explanation when it gives one, or what a flag or lock means."""
    parts: list[str] = []
    event = value.get("event")
    if _text(value.get("reason")):
        parts.append(value["reason"])
    for key in ("rejection_info", "other_info"):
        info = value.get(key)
        if isinstance(info, dict):
            parts += [str(info[k]) for k in ("title", "reason", "description", "recommendation")
                      if _text(info.get(k))]  # fmt: skip
    disable = value.get("disable_info")
    if isinstance(disable, dict) and disable.get("disable_date"):
        parts.append(f"will be disabled on {disable['disable_date']}")
    if not parts and event == "FLAGGED":
        parts.append("flagged for low quality")
    return " — ".join(parts)[:1024] or None


async def _find(
    session: AsyncSession, channel_ids: list[int], value: dict[str, Any]
) -> list[Template]:
    template_id = value.get("message_template_id")
    name, language = value.get("message_template_name"), value.get("message_template_language")
    query = select(Template).where(col(Template.channel_id).in_(channel_ids))
    found: list[Template] = []
    if template_id is not None:
        found = list((await session.execute(
            query.where(col(Template.provider_template_id) == str(template_id)))).scalars())  # fmt: skip
    if not found and isinstance(name, str) and isinstance(language, str):
        found = list((await session.execute(
            query.where(col(Template.name) == name, col(Template.language) == language))).scalars())  # fmt: skip
    return found


def _apply(template: Template, field: str, value: dict[str, Any]) -> bool:
    before = (template.status, template.quality, template.category, template.reason)
    if field == "message_template_status_update":
        event = str(value.get("event") or "").upper()
        template.status = STATUS_EVENTS.get(event, template.status)
        template.reason = _reason(value) if event != "APPROVED" else None
        if _text(value.get("message_template_category")):
            template.category = value["message_template_category"]
    elif field == "message_template_quality_update":
        if _text(value.get("new_quality_score")):
            template.quality = value["new_quality_score"]
    elif field == "template_category_update":
        if _text(value.get("previous_category")) and _text(value.get("new_category")):
            template.previous_category = value["previous_category"]
            template.category = value["new_category"]
        elif _text(value.get("correct_category")):
            when = value.get("category_update_timestamp")
            template.reason = (f"category will change to {value['correct_category']}"
                               + (f" at {when}" if when else ""))  # fmt: skip
    changed = before != (template.status, template.quality, template.category, template.reason)
    if changed:
        template.updated_at = utcnow()
    return changed


async def apply_template_changes(
    session: AsyncSession, channels: list[Channel], changes: list[TemplateChange]
) -> int:
    """`channels` are those whose app secret signed the webhook; a change applies to the
    templates of the channels of its WhatsApp Business Account among them. Returns how many
    templates changed."""
    changed = 0
    for change in changes:
        ids = [c.id for c in channels
               if c.id is not None and c.business_account_id == change.business_account_id]  # fmt: skip
        if not ids:
            log.info("template change for an unknown account", account=change.business_account_id)
            continue
        templates = await _find(session, ids, change.value)
        if not templates:
            log.info("template change before its sync", field=change.field,
                     template=change.value.get("message_template_name"))  # fmt: skip
        for template in templates:
            if _apply(template, change.field, change.value):
                changed += 1
                await session.flush()
                await _emit(session, template)
    return changed
