"""Sending a template to a test number before it goes to customers: the same checks as any
send, then straight through the channel's Cloud API (no conversation is opened)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.channels.base import OutboundRequest, SendError
from backend.channels.whatsapp.cloud_api import CloudApiProvider
from backend.config import Settings
from backend.templates.rules import SendMismatch, check_send
from backend.templates.services import TemplateError, channel_for, get_template, release

SANDBOX_TEST_NUMBER = "15550001234"


class TemplateTestSend(BaseModel):
    to: str | None = Field(
        default=None, description="digits; the sandbox's test phone when the sandbox is on"
    )
    components: list[dict[str, Any]] = Field(default_factory=list)


class TemplateTestResult(BaseModel):
    to: str
    provider_message_id: str
    text: str = Field(description="what the test phone shows")


async def send_test(
    session: AsyncSession, template_id: int, data: TemplateTestSend, settings: Settings,
    http: httpx.AsyncClient,
) -> TemplateTestResult:  # fmt: skip
    template = await get_template(session, template_id)
    channel = await channel_for(session, template.channel_id)
    to = re.sub(r"\D", "", data.to or "") or (
        SANDBOX_TEST_NUMBER if settings.sandbox_is_enabled else ""
    )
    if not 5 <= len(to) <= 20:
        raise TemplateError(422, "give the test number as digits in `to`")
    if template.status != "APPROVED":
        raise TemplateError(
            422, f"only an APPROVED template can be sent (this one is {template.status})"
        )
    try:
        rendered = check_send(template.components, template.parameter_format, data.components)
    except SendMismatch as mismatch:
        raise TemplateError(422, mismatch.detail, code=mismatch.code) from None
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if data.components:
        body["components"] = data.components
    await release(session)
    provider = CloudApiProvider(channel.api_base_url or settings.graph_api_base_url,
                                channel.phone_number_id, channel.access_token, http)  # fmt: skip
    try:
        wamid = await provider.send(OutboundRequest(to, "template", body),
                                    idempotency_key=f"sb-test-{uuid.uuid4().hex}")  # fmt: skip
    except SendError as error:
        raise TemplateError(422, f"Meta refused the test send: {error.title}", code=error.code,
                            message=error.title) from None  # fmt: skip
    return TemplateTestResult(to=to, provider_message_id=wamid, text=rendered.text)
