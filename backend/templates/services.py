"""The template library's rules: sync from Meta, authoring, edits as versions, and the check every
template send passes before it is written.

Routes, jobs, webhooks and other domains call these functions; nothing else writes the template
tables. `validate_template_send` is the public check for anyone who sends a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.channels.models import Channel, ProviderKind
from backend.config import Settings
from backend.core.errors import ServiceError
from backend.core.logging import get_logger
from backend.db.engine import serialize_writes
from backend.db.types import utcnow
from backend.realtime.events import record_event
from backend.realtime.types import EventType
from backend.templates.graph import GraphError, TemplatesApi
from backend.templates.models import Template, TemplateLibrary, TemplateSend, TemplateVersion
from backend.templates.rules import SendMismatch, check_send, variables
from backend.templates.views import template_json

log = get_logger(__name__)

SYNC_FIELDS = (
    "id,name,language,status,category,previous_category,components,parameter_format,"
    "quality_score,rejected_reason"
)
NOT_OFFERED_REASON = {
    "PAUSED": "paused by Meta for low quality", "DISABLED": "disabled by Meta",
    "REJECTED": "rejected by Meta", "PENDING": "waiting for Meta's review",
}  # fmt: skip


class TemplateError(ServiceError):
    """A template request we refuse (`status` 4xx), or one Meta refused (`code`, `message`)."""

    def __init__(
        self, status: int, detail: str, *, code: int | None = None, message: str | None = None
    ) -> None:
        super().__init__(status, detail)
        self.code = code
        self.message = message


def _api(channel: Channel, settings: Settings, http: httpx.AsyncClient) -> TemplatesApi:
    return TemplatesApi(
        http, channel.api_base_url or settings.graph_api_base_url, channel.access_token
    )


async def release(session: AsyncSession) -> None:
    """Ends the (read-only so far) transaction before calling Meta, so no database connection
    is held while the Graph API answers — which, with the sandbox, is this very server."""
    await session.commit()


def _business_account(channel: Channel) -> str:
    if channel.provider != ProviderKind.cloud_api.value or not channel.business_account_id:
        raise TemplateError(
            422,
            f"channel {channel.id} has no WhatsApp Business Account id: set business_account_id",
        )
    return channel.business_account_id


async def channel_for(session: AsyncSession, channel_id: int | None) -> Channel:
    """The named channel, or the default one."""
    if channel_id is not None:
        channel = await session.get(Channel, channel_id)
    else:
        channel = (
            await session.execute(select(Channel).where(col(Channel.is_default).is_(True)))
        ).scalar_one_or_none()
    if channel is None:
        raise TemplateError(404, "no such channel")
    return channel


async def siblings_of(
    session: AsyncSession, templates: list[Template]
) -> dict[tuple[int, str], list[Template]]:
    """Every language of each name, so a template shows as one name with its languages."""
    names = {t.name for t in templates}
    channels = {t.channel_id for t in templates}
    if not names:
        return {}
    rows = (
        await session.execute(
            select(Template).where(
                col(Template.name).in_(names), col(Template.channel_id).in_(channels)
            )
        )
    ).scalars()
    grouped: dict[tuple[int, str], list[Template]] = {}
    for row in rows:
        grouped.setdefault((row.channel_id, row.name), []).append(row)
    return grouped


async def _emit(session: AsyncSession, template: Template) -> None:
    family = (await siblings_of(session, [template])).get((template.channel_id, template.name))
    await record_event(
        session, EventType.template_updated, {"template": template_json(template, family)}
    )


# --- the library ---------------------------------------------------------------------------


def _parameter_format(item: dict[str, Any]) -> str:
    given = item.get("parameter_format")
    if isinstance(given, str) and given.upper() in ("NAMED", "POSITIONAL"):
        return given.upper()
    texts = [c.get("text") for c in item.get("components") or [] if isinstance(c, dict)]
    named = any(not name.isdigit() for text in texts for name in variables(text))
    return "NAMED" if named else "POSITIONAL"


def _quality(item: dict[str, Any]) -> str | None:
    score = item.get("quality_score")
    if isinstance(score, dict):
        score = score.get("score")
    return score if isinstance(score, str) else None


async def _new_version(session: AsyncSession, template: Template) -> None:
    assert template.id is not None
    session.add(TemplateVersion(template_id=template.id, version=template.version,
                                category=template.category, components=template.components))  # fmt: skip


async def _upsert(session: AsyncSession, channel_id: int, item: dict[str, Any]) -> Template | None:
    """One template as Meta lists it; returns it when it is new or changed."""
    name, language = item.get("name"), item.get("language")
    if not isinstance(name, str) or not isinstance(language, str):
        return None
    components = [c for c in item.get("components") or [] if isinstance(c, dict)]
    template = (
        await session.execute(
            select(Template).where(col(Template.channel_id) == channel_id,
                                   col(Template.name) == name, col(Template.language) == language)
        )
    ).scalar_one_or_none()  # fmt: skip
    fields: dict[str, Any] = {
        "provider_template_id": str(item["id"]) if item.get("id") is not None else None,
        "category": str(item.get("category") or "UTILITY"),
        "status": str(item.get("status") or "PENDING"),
        "quality": _quality(item),
        "parameter_format": _parameter_format(item),
    }
    if isinstance(item.get("previous_category"), str):
        fields["previous_category"] = item["previous_category"]
    reason = item.get("rejected_reason")
    if isinstance(reason, str) and reason != "NONE":
        fields["reason"] = reason
    if template is None:
        template = Template(channel_id=channel_id, name=name, language=language,
                            components=components, version=1, **fields)  # fmt: skip
        session.add(template)
        await session.flush()
        await _new_version(session, template)
        return template
    changed = False
    for key, value in fields.items():
        if value is not None and getattr(template, key) != value:
            setattr(template, key, value)
            changed = True
    if components != template.components:
        # Edited (here or in WhatsApp Manager): a new version, the old one kept for history.
        template.components = components
        template.version += 1
        await _new_version(session, template)
        changed = True
    if changed:
        template.updated_at = utcnow()
    return template if changed else None


async def _library(session: AsyncSession, channel_id: int) -> TemplateLibrary:
    library = await session.get(TemplateLibrary, channel_id)
    if library is None:
        library = TemplateLibrary(channel_id=channel_id)
        session.add(library)
    return library


async def sync_channel(
    session: AsyncSession, channel: Channel, settings: Settings, http: httpx.AsyncClient
) -> tuple[int, int]:
    """Pulls every page of the channel's templates; returns (received, changed). Templates that
    Meta no longer lists are marked DELETED (kept: messages name them)."""
    assert channel.id is not None
    waba_id = _business_account(channel)
    api = _api(channel, settings, http)
    await release(session)
    try:
        items = [item async for page in api.pages(waba_id, fields=SYNC_FIELDS) for item in page]
    except GraphError as error:
        library = await _library(session, channel.id)
        library.last_error = f"{error.code}: {error.message}"[:1024]
        library.updated_at = utcnow()
        raise TemplateError(502 if error.status is None or error.status >= 500 else 422,
                            f"Meta refused the template sync: {error.message}",
                            code=error.code, message=error.message) from error  # fmt: skip
    # Decisions below rest on what is read first: one sync (or webhook) at a time writes.
    await serialize_writes(session)
    seen: set[int] = set()
    changed = 0
    for item in items:
        template = await _upsert(session, channel.id, item)
        if template is not None:
            changed += 1
            await session.flush()
            await _emit(session, template)
        found = (
            await session.execute(
                select(Template.id).where(
                    col(Template.channel_id) == channel.id,
                    col(Template.name) == item.get("name"),
                    col(Template.language) == item.get("language"),
                )
            )
        ).scalar_one_or_none()
        if found is not None:
            seen.add(found)
    received = len(items)
    gone = (
        await session.execute(
            select(Template).where(col(Template.channel_id) == channel.id,
                                   col(Template.id).not_in(seen) if seen else True,
                                   col(Template.status) != "DELETED")
        )
    ).scalars()  # fmt: skip
    for template in list(gone):
        template.status, template.updated_at = "DELETED", utcnow()
        changed += 1
        await _emit(session, template)
    library = await _library(session, channel.id)
    library.synced_at = library.updated_at = utcnow()
    library.last_error = None
    # The cron syncs every few minutes: only a sync that changed something is worth a line.
    (log.info if changed else log.debug)(
        "templates synced", channel_id=channel.id, received=received, changed=changed
    )
    return received, changed


async def list_templates(
    session: AsyncSession, *, channel_id: int | None = None, status: str | None = None,
    q: str | None = None, language: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    query = select(Template).where(col(Template.status) != "DELETED")
    if channel_id is not None:
        query = query.where(col(Template.channel_id) == channel_id)
    if status:
        query = query.where(col(Template.status) == status.upper())
    if language:
        query = query.where(col(Template.language) == language)
    rows = list(
        (
            await session.execute(query.order_by(col(Template.name), col(Template.language)))
        ).scalars()
    )
    if q:
        needle = q.strip().lower()
        rows = [t for t in rows if needle in t.name.lower() or needle in _all_text(t).lower()]
    families = await siblings_of(session, rows)
    return [template_json(t, families.get((t.channel_id, t.name))) for t in rows]


def _all_text(template: Template) -> str:
    return " ".join(str(c.get("text") or "") for c in template.components)


async def get_template(session: AsyncSession, template_id: int) -> Template:
    template = await session.get(Template, template_id)
    if template is None:
        raise TemplateError(404, "no such template")
    return template


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedTemplate:
    """A template send that passed the checks: what to record on the message."""

    template_id: int | None  # None when the channel's library was never synced (unchecked)
    version: int | None
    language: str
    text: str


def _language_code(body: dict[str, Any]) -> str:
    language = body.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    return code if isinstance(code, str) else ""


async def validate_template_send(
    session: AsyncSession, channel_id: int, body: dict[str, Any]
) -> CheckedTemplate:
    """The public check for any template send (agents, bots, surveys, the business API).

    `body` is the Cloud API `template` object (`name`, `language.code`, `components`). Raises
    TemplateError(422) with the reason when the channel's synced library does not know the
    template in that language, when it is not APPROVED, or when the parameters do not fit it
    (count, names, empty or badly formatted values, a missing media header, too long once
    filled) — everything Meta would answer with 132000, 132001, 132005, 132012, 132015, 132016.
    A channel whose library has never been synced (Ultramsg, or Meta unreachable so far) is not
    checked, so sending never depends on the sync having worked.
    """
    name, language = body.get("name"), _language_code(body)
    if not isinstance(name, str) or not name or not language:
        raise TemplateError(422, "a template needs a name and a language code")
    library = await session.get(TemplateLibrary, channel_id)
    if library is None or library.synced_at is None:
        return CheckedTemplate(None, None, language, f"[template {name}]")
    template = (
        await session.execute(
            select(Template).where(col(Template.channel_id) == channel_id,
                                   col(Template.name) == name, col(Template.language) == language,
                                   col(Template.status) != "DELETED")
        )
    ).scalar_one_or_none()  # fmt: skip
    if template is None:
        others = (
            await session.execute(
                select(Template.language).where(col(Template.channel_id) == channel_id,
                                                col(Template.name) == name,
                                                col(Template.status) != "DELETED")
            )
        ).scalars().all()  # fmt: skip
        known = f" (it exists in {', '.join(sorted(others))})" if others else ""
        raise TemplateError(422, f"template {name} is unknown in language {language}{known}")
    if template.status != "APPROVED":
        why = f": {template.reason}" if template.reason else ""
        raise TemplateError(422, f"template {name} ({language}) is {template.status}, "
                            f"not APPROVED{why}")  # fmt: skip
    try:
        rendered = check_send(
            template.components, template.parameter_format, body.get("components")
        )
    except SendMismatch as mismatch:
        raise TemplateError(422, f"template {name} ({language}): {mismatch.detail}",
                            code=mismatch.code) from None  # fmt: skip
    return CheckedTemplate(template.id, template.version, language, rendered.text)


async def record_template_send(
    session: AsyncSession, message_id: int, checked: CheckedTemplate
) -> None:
    """Keeps the template, version and language a message used (same transaction as the message)."""
    if checked.template_id is None or checked.version is None:
        return
    session.add(TemplateSend(message_id=message_id, template_id=checked.template_id,
                             version=checked.version, language=checked.language))  # fmt: skip
    await session.flush()


async def templates_of_messages(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Which template each of these messages used, in one query; messages sent without one are
    missing from the answer."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(TemplateSend, col(Template.name))
        .outerjoin(Template, col(Template.id) == col(TemplateSend.template_id))
        .where(col(TemplateSend.message_id).in_(message_ids))
    )
    return {
        send.message_id: {"id": send.template_id, "name": name, "version": send.version,
                          "language": send.language}
        for send, name in rows.tuples()
    }  # fmt: skip


async def channels_with_libraries(session: AsyncSession) -> list[Channel]:
    """Cloud API channels that have a WhatsApp Business Account: the ones to sync."""
    query = select(Channel).where(
        col(Channel.provider) == ProviderKind.cloud_api.value,
        col(Channel.business_account_id).is_not(None),
    )
    return list((await session.execute(query)).scalars())


async def library_states(session: AsyncSession) -> list[dict[str, Any]]:
    """Per channel with a Business Account: when its library last synced, and the last error."""
    states = []
    for channel in await channels_with_libraries(session):
        assert channel.id is not None
        library = await session.get(TemplateLibrary, channel.id)
        states.append({
            "channel_id": channel.id, "business_account_id": channel.business_account_id,
            "synced_at": library.synced_at if library else None,
            "last_error": library.last_error if library else None,
        })  # fmt: skip
    return states
