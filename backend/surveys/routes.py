"""Survey results per conversation, and per-channel survey settings (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, put
from litestar.exceptions import NotFoundException
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.auth import CurrentAgent, require_role
from backend.agents.models import Role
from backend.channels.models import Channel
from backend.conversations.visibility import get_visible
from backend.core.context import context_of
from backend.realtime.events import commit_and_publish
from backend.surveys.models import Survey
from backend.surveys.services import config_for, set_config, survey_view

AgentRequest = Request[CurrentAgent, Any, Any]


class SurveyConfigBody(BaseModel):
    enabled: bool = True
    delay_seconds: float | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    template_name: str | None = Field(default=None, max_length=255)
    template_language: str = Field(default="en", max_length=16)


@get("/api/v1/conversations/{conversation_id:int}/survey", tags=["surveys"])
async def conversation_survey(
    request: AgentRequest, db_session: AsyncSession, conversation_id: int
) -> dict[str, Any]:
    await get_visible(db_session, request.user, conversation_id)
    survey = (
        await db_session.execute(
            select(Survey).where(col(Survey.conversation_id) == conversation_id)
        )
    ).scalar_one_or_none()
    if survey is None:
        raise NotFoundException("no survey for this conversation")
    return survey_view(survey)


async def _config_view(
    request: AgentRequest, db_session: AsyncSession, channel_id: int
) -> dict[str, Any]:
    config = await config_for(db_session, context_of(request).settings, channel_id)
    return {"channel_id": channel_id, "enabled": config.enabled,
            "delay_seconds": config.delay.total_seconds(), "template_name": config.template_name,
            "template_language": config.template_language}  # fmt: skip


@get(
    "/api/v1/channels/{channel_id:int}/survey",
    tags=["surveys"],
    guards=[require_role(Role.lead, Role.admin)],
)
async def get_survey_config(
    request: AgentRequest, db_session: AsyncSession, channel_id: int
) -> dict[str, Any]:
    if await db_session.get(Channel, channel_id) is None:
        raise NotFoundException("no such channel")
    return await _config_view(request, db_session, channel_id)


@put(
    "/api/v1/channels/{channel_id:int}/survey", tags=["surveys"], guards=[require_role(Role.admin)]
)
async def put_survey_config(
    request: AgentRequest, db_session: AsyncSession, channel_id: int, data: SurveyConfigBody
) -> dict[str, Any]:
    if await db_session.get(Channel, channel_id) is None:
        raise NotFoundException("no such channel")
    await set_config(db_session, channel_id, enabled=data.enabled, delay_seconds=data.delay_seconds,
                     template_name=data.template_name or None,
                     template_language=data.template_language, by=request.user)  # fmt: skip
    await commit_and_publish(db_session, context_of(request).redis)
    return await _config_view(request, db_session, channel_id)


SURVEY_HANDLERS: list[Any] = [conversation_survey, get_survey_config, put_survey_config]
