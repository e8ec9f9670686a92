"""The template object of the API (CONTRACT.md), as typed schemas shared by routes and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.templates.models import Template
from backend.templates.rules import parameters_of, render_example

OFFERED_STATUSES = ("APPROVED",)


class TemplateParameter(BaseModel):
    component: str = Field(description="header, body or button")
    name: str = Field(description="'1', '2'… or the named parameter; the media kind of a header")
    type: str = Field(description="text, image, video, document or location")
    index: int | None = Field(default=None, description="the button's position")
    example: str | None = None


class TemplateLanguage(BaseModel):
    id: int
    language: str
    status: str


class TemplateOut(BaseModel):
    id: int
    channel_id: int
    provider_template_id: str | None
    name: str
    language: str
    category: str
    previous_category: str | None
    status: str
    quality: str | None
    reason: str | None = Field(description="why it was rejected, paused, disabled or flagged")
    parameter_format: str
    components: list[dict[str, Any]]
    parameters: list[TemplateParameter]
    version: int
    offered: bool = Field(description="whether agents may send it now (approved)")
    preview: str = Field(description="the text with the examples filled in")
    languages: list[TemplateLanguage] = Field(
        default_factory=list, description="every language of this name on the channel"
    )
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateOut]


class SyncResult(BaseModel):
    synced: int = Field(description="templates received from Meta")
    changed: int = Field(default=0, description="templates new or different since the last sync")


class LibraryState(BaseModel):
    channel_id: int
    business_account_id: str | None
    synced_at: datetime | None = Field(
        description="last successful sync; null: never (sends unchecked)"
    )
    last_error: str | None = Field(description="why the last sync failed, if it did")


class LibraryList(BaseModel):
    items: list[LibraryState]


class TemplateVersionOut(BaseModel):
    version: int
    category: str
    components: list[dict[str, Any]]
    created_at: datetime
    sent: int = Field(description="messages sent with this version")


class TemplateDetail(TemplateOut):
    versions: list[TemplateVersionOut] = Field(default_factory=list)


def template_out(template: Template, siblings: list[Template] | None = None) -> TemplateOut:
    assert template.id is not None
    return TemplateOut(
        id=template.id, channel_id=template.channel_id,
        provider_template_id=template.provider_template_id, name=template.name,
        language=template.language, category=template.category,
        previous_category=template.previous_category, status=template.status,
        quality=template.quality, reason=template.reason,
        parameter_format=template.parameter_format, components=template.components,
        parameters=[TemplateParameter(**p.as_json()) for p in parameters_of(template.components)],
        version=template.version, offered=template.status in OFFERED_STATUSES,
        preview=render_example(template.components),
        languages=[
            TemplateLanguage(id=s.id, language=s.language, status=s.status)
            for s in sorted(siblings or [template], key=lambda t: t.language)
            if s.id is not None
        ],
        created_at=template.created_at, updated_at=template.updated_at,
    )  # fmt: skip


def template_json(template: Template, siblings: list[Template] | None = None) -> dict[str, Any]:
    return template_out(template, siblings).model_dump(mode="json")
