"""CSAT survey rules: when to send, when to skip (and why), quiet hours, and recording answers.

The rating is a native interactive **list** of five rows, not reply buttons: WhatsApp allows at
most three reply buttons, so a 1-5 scale would need two messages or a coarser scale, while a list
shows all five choices in one tap-to-open sheet. Each row's id carries the survey id
(`csat:<survey>:<rating>`), so a tap is matched to its survey however late it comes.

A survey's answers never reopen the conversation: ingest asks `reply_target` before opening a new
conversation, and a message that answers a pending survey is stored on the resolved conversation,
where the `survey_reply` job records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.agents.models import Agent, Team
from backend.audit.changes import config_changed
from backend.bots.locale import pick_language, zone_of
from backend.channels.base import InboundMessage
from backend.config import Settings
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    Sender,
)
from backend.conversations.notes import write_note
from backend.conversations.outbound import Draft, window_open, write_message
from backend.db.bulk import prepared
from backend.db.types import utcnow
from backend.surveys.models import Survey, SurveyConfig, SurveyState

ROW_PREFIX = "csat"
THROTTLE = timedelta(hours=24)  # at most one survey per contact per day
ANSWER_WINDOW = timedelta(hours=24)  # a typed "4" counts as an answer this long; a tap, always
COMMENT_WINDOW = timedelta(hours=1)  # after that, a message is a new matter, not a comment
LATE_AFTER = timedelta(hours=24)
QUIET_START, QUIET_END = time(21, 0), time(8, 0)
_DIGIT = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*[.!]?\s*$")

TEXTS: dict[str, dict[str, str]] = {
    "question": {
        "en": "How did we do? Please rate your conversation with {agent}.",
        "de": "Wie war unser Service? Bitte bewerte dein Gespräch mit {agent}.",
        "es": "¿Qué tal lo hicimos? Valora tu conversación con {agent}.",
    },
    "button": {"en": "Rate us", "de": "Bewerten", "es": "Valorar"},
    "comment": {
        "en": "Thank you! Anything you'd like to add? Just reply with a comment (optional).",
        "de": "Danke! Möchtest du noch etwas ergänzen? Antworte einfach mit einem Kommentar (optional).",
        "es": "¡Gracias! ¿Quieres añadir algo? Responde con un comentario (opcional).",
    },
    "thanks": {
        "en": "Thanks for your feedback!",
        "de": "Danke für dein Feedback!",
        "es": "¡Gracias por tu opinión!",
    },
}
LABELS: dict[str, tuple[str, ...]] = {  # index = rating - 1
    "en": ("Very poor", "Poor", "Okay", "Good", "Excellent"),
    "de": ("Sehr schlecht", "Schlecht", "Okay", "Gut", "Ausgezeichnet"),
    "es": ("Muy mal", "Mal", "Regular", "Bien", "Excelente"),
}


def _text(name: str, language: str, **values: Any) -> str:
    table = TEXTS[name]
    return (table.get(language) or table["en"]).format(**values)


def quiet_until(now: datetime, zone: ZoneInfo) -> datetime | None:
    """08:00 the next morning in `zone` when `now` falls in 21:00-08:00 there, else None."""
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=zone)


def rating_rows(survey_id: int, language: str) -> list[dict[str, str]]:
    labels = LABELS.get(language, LABELS["en"])
    return [
        {
            "id": f"{ROW_PREFIX}:{survey_id}:{rating}",
            "title": f"{'★' * rating} {labels[rating - 1]}"[:24],
        }
        for rating in range(5, 0, -1)
    ]


def survey_draft(survey_id: int, language: str, agent_name: str) -> Draft:
    body = _text("question", language, agent=agent_name)
    interactive = {
        "type": "list", "body": {"text": body},
        "action": {"button": _text("button", language),
                   "sections": [{"rows": rating_rows(survey_id, language)}]},
    }  # fmt: skip
    return Draft("interactive", interactive, body)


@dataclass(frozen=True)
class Effective:
    enabled: bool
    delay: timedelta
    template_name: str | None
    template_language: str


async def config_for(session: AsyncSession, settings: Settings, channel_id: int) -> Effective:
    row = await session.get(SurveyConfig, channel_id)
    delay = (
        row.delay_seconds
        if row and row.delay_seconds is not None
        else settings.survey_delay_seconds
    )
    return Effective(row.enabled if row else True, timedelta(seconds=delay),
                     row.template_name if row else None, row.template_language if row else "en")  # fmt: skip


async def set_config(
    session: AsyncSession, channel_id: int, *, enabled: bool, delay_seconds: float | None,
    template_name: str | None, template_language: str, by: Any = None,
) -> SurveyConfig:  # fmt: skip
    """A channel's survey settings; audited and announced (`survey_config.updated`)."""
    found = await session.get(SurveyConfig, channel_id)
    before = _config_json(found) if found is not None else None
    row = found or SurveyConfig(channel_id=channel_id)
    row.enabled, row.delay_seconds = enabled, delay_seconds
    row.template_name, row.template_language = template_name, template_language
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    await config_changed(session, "survey_config.updated", by=by, target_id=channel_id,
                         before=before, after=_config_json(row))  # fmt: skip
    return row


def _config_json(row: SurveyConfig) -> dict[str, Any]:
    return {"channel_id": row.channel_id, "enabled": row.enabled,
            "delay_seconds": row.delay_seconds, "template_name": row.template_name,
            "template_language": row.template_language}  # fmt: skip


async def _human_agent(session: AsyncSession, conversation: Conversation) -> int | None:
    """The agent who served the customer: the last one who wrote to them (None: no human did)."""
    query = (
        select(col(Message.sender_agent_id))
        .where(col(Message.conversation_id) == conversation.id,
               col(Message.sender) == Sender.agent.value, col(Message.sender_agent_id).is_not(None),
               col(Message.type) != "note")
        .order_by(col(Message.id).desc()).limit(1)
    )  # fmt: skip
    agent_id: int | None = (await session.execute(query)).scalar_one_or_none()
    return agent_id


@dataclass(frozen=True)
class Due:
    """What the job does next: enqueue `send_id`, come back at `wait_until`, or nothing."""

    send_id: int | None = None
    wait_until: datetime | None = None


async def _skip(
    session: AsyncSession, survey: Survey, conversation: Conversation, reason: str
) -> Due:
    survey.state, survey.skip_reason, survey.updated_at = (
        SurveyState.skipped.value,
        reason,
        utcnow(),
    )
    await write_note(session, conversation, f"CSAT survey not sent: {reason}.", "survey_skipped",
                     {"survey_id": survey.id, "reason": reason})  # fmt: skip
    return Due()


async def run_due(
    session: AsyncSession, settings: Settings, conversation_id: int, now: datetime
) -> Due:
    """Creates the survey on first call, then sends, defers or skips it once it is due."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != ConversationStatus.resolved.value:
        return Due()  # reopened: a later resolution schedules it again
    assert conversation.id is not None and conversation.resolved_at is not None
    config = await config_for(session, settings, conversation.channel_id)
    survey = (
        await session.execute(select(Survey).where(col(Survey.conversation_id) == conversation.id))
    ).scalar_one_or_none()
    if survey is None:
        survey = Survey(
            conversation_id=conversation.id, contact_id=conversation.contact_id,
            channel_id=conversation.channel_id, team_id=conversation.team_id,
            agent_id=conversation.assignee_id, scheduled_for=conversation.resolved_at + config.delay,
        )  # fmt: skip
        session.add(survey)
        await session.flush()
    if survey.state != SurveyState.scheduled.value:
        return Due()
    if not survey.deferred:
        survey.scheduled_for = conversation.resolved_at + config.delay
    if now < survey.scheduled_for:
        return Due(wait_until=survey.scheduled_for)
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None and survey.id is not None
    agent_id = await _human_agent(session, conversation)
    survey.agent_id = conversation.assignee_id or agent_id
    survey.team_id = conversation.team_id
    if not config.enabled:
        return await _skip(
            session, survey, conversation, "surveys are switched off for this channel"
        )
    if agent_id is None:
        return await _skip(
            session, survey, conversation, "the conversation was closed without a human"
        )
    if contact.opted_out:
        return await _skip(session, survey, conversation, "the contact opted out")
    recent = (
        await session.execute(
            select(Survey.id).where(col(Survey.contact_id) == contact.id, col(Survey.id) != survey.id,
                                    col(Survey.sent_at) > now - THROTTLE).limit(1)
        )
    ).first()  # fmt: skip
    if recent is not None:
        return await _skip(
            session, survey, conversation, "the contact got a survey in the last 24 hours"
        )
    zone = zone_of(contact.wa_id)
    morning = quiet_until(now, zone)
    if morning is not None:
        survey.scheduled_for, survey.deferred = morning, True
        await write_note(
            session, conversation,
            f"CSAT survey deferred to {morning:%Y-%m-%d %H:%M} ({zone.key}): quiet hours for the customer.",
            "survey_deferred", {"survey_id": survey.id, "until": morning.isoformat()},
        )  # fmt: skip
        return Due(wait_until=morning)
    language = pick_language(contact.language, contact.wa_id, list(LABELS), "en")
    if window_open(contact):
        agent = await session.get(Agent, survey.agent_id) if survey.agent_id else None
        draft = survey_draft(survey.id, language, agent.name if agent else "our team")
    elif config.template_name:
        template = {"name": config.template_name, "language": {"code": config.template_language}}
        draft = Draft("template", template, f"[template {config.template_name}]")
    else:
        return await _skip(session, survey, conversation,
                           "the 24-hour window is closed and no survey template is configured")  # fmt: skip
    message = await write_message(session, conversation, draft, sender=Sender.bot)
    survey.state, survey.sent_at, survey.message_id = SurveyState.sent.value, now, message.id
    survey.updated_at = now
    return Due(send_id=message.id)


# ---------------------------------------------------------------------------- answers
def _row_rating(reply_id: Any) -> tuple[int, int] | None:
    """(survey id, rating) from a `csat:<survey>:<rating>` row id."""
    if not isinstance(reply_id, str):
        return None
    match = re.fullmatch(rf"{ROW_PREFIX}:(\d+):([1-5])", reply_id)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _typed_rating(text: str | None) -> int | None:
    match = _DIGIT.match(text or "")
    return int(match.group(1)) if match else None


async def survey_claimants(
    session: AsyncSession, messages: list[tuple[int, InboundMessage]]
) -> set[int]:
    """Of a set of customers' messages, the customers whose message `reply_target` may claim:
    a tap on a survey row, or anyone with a survey awaiting a rating or a comment."""
    claimed = {
        contact_id for contact_id, inbound in messages
        if inbound.type == "interactive" and _row_rating(inbound.payload.get("id")) is not None
    }  # fmt: skip
    asked = {contact_id for contact_id, _ in messages} - claimed
    if asked:
        query = prepared("survey_claimants", lambda: select(col(Survey.contact_id)).where(
            col(Survey.contact_id).in_(bindparam("asked", expanding=True)),
            col(Survey.state).in_([SurveyState.sent.value, SurveyState.awaiting_comment.value]),
        ).distinct())  # fmt: skip
        claimed |= set((await session.execute(query, {"asked": list(asked)})).scalars())
    return claimed


async def reply_target(
    session: AsyncSession, contact: Contact, inbound: InboundMessage,
    open_conversation: Conversation | None,
) -> Conversation | None:  # fmt: skip
    """The resolved conversation whose survey this message answers, or None (ingest as usual).

    A tap on a survey row always goes to its survey. A typed rating (within 24 h of sending) or a
    comment (within the hour after rating) does only when no other conversation is open: then the
    customer is talking to us about the survey, not about something new.
    """
    row = _row_rating(inbound.payload.get("id")) if inbound.type == "interactive" else None
    if row is not None:
        survey = await session.get(Survey, row[0])
        if survey is not None and survey.contact_id == contact.id:
            return await session.get(Conversation, survey.conversation_id)
        return None
    if open_conversation is not None or inbound.type not in ("text", "button"):
        return None
    survey = (
        await session.execute(
            select(Survey).where(col(Survey.contact_id) == contact.id,
                                 col(Survey.state).in_([SurveyState.sent.value, SurveyState.awaiting_comment.value]))
            .order_by(col(Survey.sent_at).desc()).limit(1)
        )
    ).scalar_one_or_none()  # fmt: skip
    if survey is None or survey.sent_at is None:
        return None
    now = utcnow()
    answers = (
        survey.state == SurveyState.sent.value and _typed_rating(inbound.text) is not None
        and now - survey.sent_at < ANSWER_WINDOW
    ) or (
        survey.state == SurveyState.awaiting_comment.value and inbound.type == "text"
        and survey.answered_at is not None and now - survey.answered_at < COMMENT_WINDOW
    )  # fmt: skip
    return await session.get(Conversation, survey.conversation_id) if answers else None


async def record_reply(session: AsyncSession, message_id: int) -> list[int]:
    """Applies a customer's message to its conversation's survey; returns messages to send."""
    message = await session.get(Message, message_id)
    if message is None or message.sender != Sender.customer.value:
        return []
    conversation = await session.get(Conversation, message.conversation_id)
    if conversation is None or conversation.status != ConversationStatus.resolved.value:
        return []
    survey = (
        await session.execute(select(Survey).where(col(Survey.conversation_id) == conversation.id))
    ).scalar_one_or_none()
    if (
        survey is None
        or survey.sent_at is None
        or message.id is None
        or message.id <= survey.last_reply_id
    ):
        return []
    survey.last_reply_id = message.id
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    language = pick_language(contact.language, contact.wa_id, list(LABELS), "en")
    row = _row_rating(message.payload.get("id")) if message.type == "interactive" else None
    rating = row[1] if row is not None and row[0] == survey.id else None
    if rating is None and survey.state == SurveyState.sent.value:
        rating = _typed_rating(message.text)
    now = utcnow()
    sends: list[Message] = []
    if rating is not None:
        first = survey.rating is None
        survey.rating, survey.answered_at = rating, now
        survey.late = now - survey.sent_at > LATE_AFTER
        agent = await session.get(Agent, survey.agent_id) if survey.agent_id else None
        team = await session.get(Team, survey.team_id) if survey.team_id else None
        who = ", ".join(
            x for x in (agent.name if agent else None, team.name if team else None) if x
        )
        await write_note(
            session, conversation,
            f"CSAT rating: {rating}/5 {'★' * rating}" + (f" for {who}" if who else "")
            + (" (late answer, after 24 hours)" if survey.late else "") + ".",
            "survey_rating", {"survey_id": survey.id, "rating": rating, "late": survey.late},
        )  # fmt: skip
        if first and survey.state == SurveyState.sent.value:
            survey.state = SurveyState.awaiting_comment.value
            if window_open(contact):
                sends.append(await write_message(
                    session, conversation, Draft("text", {"body": _text("comment", language)},
                                                 _text("comment", language)), sender=Sender.bot))  # fmt: skip
    elif (
        survey.state == SurveyState.awaiting_comment.value
        and message.type == "text"
        and message.text
    ):
        survey.comment, survey.state = message.text.strip()[:4000], SurveyState.answered.value
        await write_note(session, conversation, f"CSAT comment: “{survey.comment}”", "survey_comment",
                         {"survey_id": survey.id})  # fmt: skip
        if window_open(contact):
            sends.append(await write_message(
                session, conversation, Draft("text", {"body": _text("thanks", language)},
                                             _text("thanks", language)), sender=Sender.bot))  # fmt: skip
    survey.updated_at = now
    await session.flush()
    return [m.id for m in sends if m.id is not None]


async def close_comment_windows(session: AsyncSession, now: datetime) -> int:
    """Rated surveys whose comment window passed are answered (without a comment)."""
    rows = list((await session.execute(
        select(Survey).where(col(Survey.state) == SurveyState.awaiting_comment.value,
                             col(Survey.answered_at) < now - COMMENT_WINDOW)
    )).scalars())  # fmt: skip
    for survey in rows:
        survey.state, survey.updated_at = SurveyState.answered.value, now
    return len(rows)


async def due_conversations(session: AsyncSession, now: datetime) -> list[int]:
    """Surveys due now, and resolved conversations whose scheduling job was lost (Redis down)."""
    due: list[int] = list((await session.execute(
        select(col(Survey.conversation_id)).where(col(Survey.state) == SurveyState.scheduled.value,
                                                  col(Survey.scheduled_for) <= now).limit(200)
    )).scalars())  # fmt: skip
    orphans = list((await session.execute(
        select(col(Conversation.id)).outerjoin(Survey, col(Survey.conversation_id) == col(Conversation.id))
        .where(col(Conversation.status) == ConversationStatus.resolved.value, col(Survey.id).is_(None),
               col(Conversation.resolved_at) > now - timedelta(days=2),
               col(Conversation.resolved_at) < now - timedelta(minutes=10)).limit(200)
    )).scalars())  # fmt: skip
    return [*due, *(c for c in orphans if c is not None)]


def survey_view(survey: Survey) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": survey.id, "conversation_id": survey.conversation_id, "contact_id": survey.contact_id,
        "agent_id": survey.agent_id, "team_id": survey.team_id, "state": survey.state,
        "rating": survey.rating, "comment": survey.comment, "late": survey.late,
        "skip_reason": survey.skip_reason, "deferred": survey.deferred,
        "scheduled_for": iso(survey.scheduled_for), "sent_at": iso(survey.sent_at),
        "answered_at": iso(survey.answered_at),
    }  # fmt: skip
