"""Writing templates: Meta's create body checked against Meta's rules, then submitted; an edit
becomes a new version (back in review) while the old version is kept for the messages it sent."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.audit.changes import config_changed
from backend.config import Settings
from backend.db.types import utcnow
from backend.templates.graph import GraphError
from backend.templates.models import Template, TemplateSend, TemplateVersion
from backend.templates.rules import TemplateRuleError, validate_new_template, variables
from backend.templates.services import (
    TemplateError,
    _api,
    _business_account,
    _emit,
    _new_version,
    channel_for,
    get_template,
    release,
    siblings_of,
)
from backend.templates.views import TemplateDetail, TemplateOut, TemplateVersionOut, template_out


class TemplateCreate(BaseModel):
    """Meta's create body (`POST {waba_id}/message_templates`), plus the channel it is for."""

    name: str = Field(description="lowercase letters, digits and underscores")
    language: str = Field(description="e.g. en, en_US, de, es")
    category: str = Field(description="MARKETING, UTILITY or AUTHENTICATION")
    components: list[dict[str, Any]] = Field(
        description="HEADER (text or media), BODY, FOOTER, BUTTONS as in Meta's create body"
    )
    parameter_format: Literal["POSITIONAL", "NAMED"] | None = None
    allow_category_change: bool | None = None
    channel_id: int | None = Field(default=None, description="the default channel when absent")


class TemplateEdit(BaseModel):
    components: list[dict[str, Any]]
    category: str | None = None


def _named(components: list[dict[str, Any]]) -> bool:
    return any(
        not name.isdigit() for component in components for name in variables(component.get("text"))
    )


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("parameter_format") is None and _named(body.get("components") or []):
        body["parameter_format"] = "NAMED"
    try:
        validate_new_template(body)
    except TemplateRuleError as error:
        raise TemplateError(422, f"the template breaks WhatsApp's rules: {error}") from None
    return {key: value for key, value in body.items() if value is not None}


def _refused(error: GraphError) -> TemplateError:
    status = 502 if error.status is None or error.status >= 500 else 422
    return TemplateError(status, f"Meta refused the template: {error.message}",
                         code=error.code, message=error.message)  # fmt: skip


async def create_template(
    session: AsyncSession, data: TemplateCreate, settings: Settings, http: httpx.AsyncClient,
    *, by: Any = None,
) -> Template:  # fmt: skip
    """Submitted to Meta, then stored; audited (`template.created`; the screens hear the
    domain's own `template.updated`)."""
    channel = await channel_for(session, data.channel_id)
    assert channel.id is not None
    waba_id = _business_account(channel)
    body = _checked(data.model_dump(exclude={"channel_id"}))
    existing = (
        await session.execute(
            select(Template).where(col(Template.channel_id) == channel.id,
                                   col(Template.name) == data.name,
                                   col(Template.language) == data.language)
        )
    ).scalar_one_or_none()  # fmt: skip
    if existing is not None and existing.status != "DELETED":
        raise TemplateError(
            409, f"{data.name} exists in {data.language} already (id {existing.id}): "
            f"edit it with POST /api/v1/templates/{existing.id}/versions",
        )  # fmt: skip
    await release(session)
    try:
        answer = await _api(channel, settings, http).create(waba_id, body)
    except GraphError as error:
        raise _refused(error) from None
    fields = {
        "provider_template_id": str(answer["id"]) if answer.get("id") is not None else None,
        "status": str(answer.get("status") or "PENDING"),
        "category": str(answer.get("category") or data.category),
        "parameter_format": body.get("parameter_format", "POSITIONAL"),
        "components": body["components"], "reason": None, "quality": None,
    }  # fmt: skip
    if existing is None:
        template = Template(channel_id=channel.id, name=data.name, language=data.language,
                            version=1, **fields)  # fmt: skip
        session.add(template)
    else:  # re-created after a deletion: the same row, a new version
        template = existing
        for key, value in fields.items():
            setattr(template, key, value)
        template.version += 1
        template.updated_at = utcnow()
    await session.flush()
    await _new_version(session, template)
    await _emit(session, template)
    await config_changed(session, "template.created", by=by, target_id=template.id,
                         after=_audited(template), live=False)  # fmt: skip
    return template


def _audited(template: Template) -> dict[str, Any]:
    return {"channel_id": template.channel_id, "name": template.name,
            "language": template.language, "version": template.version,
            "category": template.category, "components": template.components}  # fmt: skip


async def edit_template(
    session: AsyncSession, template_id: int, data: TemplateEdit, settings: Settings,
    http: httpx.AsyncClient, *, by: Any = None,
) -> Template:  # fmt: skip
    """A new version, sent to Meta's review; audited (`template.edited`)."""
    template = await get_template(session, template_id)
    before = _audited(template)
    channel = await channel_for(session, template.channel_id)
    if not template.provider_template_id:
        raise TemplateError(409, "this template has no Meta id yet: sync first")
    body = _checked({
        "name": template.name, "language": template.language,
        "category": data.category or template.category, "components": data.components,
        "parameter_format": template.parameter_format,
    })  # fmt: skip
    if body["components"] == template.components and body["category"] == template.category:
        raise TemplateError(422, "nothing changed: the components and category are the same")
    edit: dict[str, Any] = {"components": body["components"]}
    if data.category:
        edit["category"] = data.category
    await release(session)
    try:
        await _api(channel, settings, http).edit(template.provider_template_id, edit)
    except GraphError as error:
        raise _refused(error) from None
    template.components = body["components"]
    template.category = body["category"]
    template.version += 1
    template.status, template.reason = "PENDING", None  # Meta reviews the edit
    template.updated_at = utcnow()
    await session.flush()
    await _new_version(session, template)
    await _emit(session, template)
    await config_changed(session, "template.edited", by=by, target_id=template_id,
                         before=before, after=_audited(template), live=False)  # fmt: skip
    return template


async def template_view(session: AsyncSession, template: Template) -> TemplateOut:
    family = (await siblings_of(session, [template])).get((template.channel_id, template.name))
    return template_out(template, family)


async def template_detail(session: AsyncSession, template_id: int) -> TemplateDetail:
    template = await get_template(session, template_id)
    versions = (
        await session.execute(
            select(TemplateVersion).where(col(TemplateVersion.template_id) == template_id)
            .order_by(col(TemplateVersion.version).desc())
        )
    ).scalars()  # fmt: skip
    counts = dict(
        (
            await session.execute(
                select(TemplateSend.version, func.count())
                .where(col(TemplateSend.template_id) == template_id)
                .group_by(col(TemplateSend.version))
            )
        ).all()
    )
    view = await template_view(session, template)
    return TemplateDetail(
        **view.model_dump(),
        versions=[
            TemplateVersionOut(version=v.version, category=v.category, components=v.components,
                               created_at=v.created_at, sent=counts.get(v.version, 0))
            for v in versions
        ],
    )  # fmt: skip
