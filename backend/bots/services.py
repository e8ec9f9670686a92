"""Bot business rules over the database: flow versions, running a step, handoff, consent, waits.

`process_messages` is what the worker's `bot_step` job runs for a conversation: it takes every
customer message the bot has not seen yet, in order, and for each one applies the engine's `Turn`
in the caller's transaction (bot messages written as `queued`, notes, state, events). The caller
commits, then enqueues the sends that the returned `StepOutcome` lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import and_, col, select

from backend.agents.hours import BusinessHours, ScheduleError
from backend.agents.models import Agent, AgentTeam, Presence, Team
from backend.audit.changes import config_changed
from backend.bots.engine import Engine, Handoff, Input, State, Turn, phrase, text_draft
from backend.bots.flow import FlowError, ParsedFlow, normalize, parse_flow
from backend.bots.hours import describe
from backend.bots.locale import pick_language
from backend.bots.models import BotFlow, BotState, ConsentChange, TeamSchedule
from backend.channels.models import Channel
from backend.config import Settings
from backend.conversations import lifecycle
from backend.conversations.contacts import remember
from backend.conversations.lifecycle import Move
from backend.conversations.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Sender,
)
from backend.conversations.notes import write_note
from backend.conversations.outbound import Draft, window_open, write_message
from backend.core.errors import ServiceError
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.realtime.types import By

WAIT_NOTICE_EVERY = timedelta(minutes=5)
DEFAULT_HANDLING = timedelta(minutes=10)  # a team with no history yet
HISTORY = timedelta(days=14)
MAX_INPUTS = 20

log = get_logger(__name__)

BOT: By = {"bot": True}  # who made a conversation move: the channel's bot


# ---------------------------------------------------------------------------- flows
async def check_flow(session: AsyncSession, source: str) -> ParsedFlow:
    """The whole validation of a flow, teams included: FlowError with `line N: reason` for each
    problem. What saving runs, and what the admin console's editor asks as one types."""
    parsed = parse_flow(source)
    names = {name for name, _ in parsed.team_refs}
    known = set(
        (await session.execute(select(col(Team.name)).where(col(Team.name).in_(names)))).scalars()
    )
    missing = [
        (line, f"no team named '{name}'") for name, line in parsed.team_refs if name not in known
    ]
    if missing:
        raise FlowError(missing)
    return parsed


async def save_flow(
    session: AsyncSession, channel_id: int, source: str, *, by: Any = None,
    restored_from: int | None = None,
) -> BotFlow:  # fmt: skip
    """Parses, validates (teams included) and stores a new active version; the caller commits.
    Audited and announced as `bot_flow.saved`, or `bot_flow.rolled_back` when it is an older
    version's source saved again (`restored_from`). `by` None: the CLI or the seed."""
    if await session.get(Channel, channel_id) is None:
        raise ServiceError(404, "no such channel")
    previous = await active_flow(session, channel_id)
    try:
        parsed = await check_flow(session, source)
    except FlowError as error:
        raise ServiceError(422, str(error)) from None
    latest = (
        await session.execute(
            select(func.max(col(BotFlow.version))).where(col(BotFlow.channel_id) == channel_id)
        )
    ).scalar_one_or_none()
    await session.execute(
        update(BotFlow).where(col(BotFlow.channel_id) == channel_id).values(active=False)
    )
    flow = BotFlow(
        channel_id=channel_id, version=(latest or 0) + 1, name=parsed.definition["name"],
        source=source, definition=parsed.definition, active=True,
        created_by=getattr(by, "id", None),  # an admin (the routes let no API key in)
    )  # fmt: skip
    session.add(flow)
    try:
        await session.flush()
    except IntegrityError:
        raise ServiceError(409, "another version was saved at the same moment: try again") from None
    action = "bot_flow.rolled_back" if restored_from is not None else "bot_flow.saved"
    await config_changed(
        session, action, by=by, target_id=channel_id,
        before=_flow_state(previous), after=_flow_state(flow),
        detail=f"version {flow.version} from version {restored_from}" if restored_from else None,
    )  # fmt: skip
    return flow


def _flow_state(flow: BotFlow | None) -> dict[str, Any]:
    """What the audit keeps of a flow: which version is live (each version's source is kept in
    `bot_flows`, so the version number says what ran)."""
    if flow is None:
        return {"active_version": None}
    return {"channel_id": flow.channel_id, "active_version": flow.version, "name": flow.name}


async def active_flow(session: AsyncSession, channel_id: int) -> BotFlow | None:
    query = select(BotFlow).where(
        col(BotFlow.channel_id) == channel_id, col(BotFlow.active).is_(True)
    )
    return (
        await session.execute(query.order_by(col(BotFlow.version).desc()).limit(1))
    ).scalar_one_or_none()


async def flow_versions(session: AsyncSession, channel_id: int) -> list[BotFlow]:
    query = select(BotFlow).where(col(BotFlow.channel_id) == channel_id)
    return list((await session.execute(query.order_by(col(BotFlow.version).desc()))).scalars())


async def switch_off(session: AsyncSession, channel_id: int, *, by: Any = None) -> int:
    """No active flow: new conversations on the channel go straight to its queue."""
    previous = await active_flow(session, channel_id)
    result = await session.execute(
        update(BotFlow).where(col(BotFlow.channel_id) == channel_id, col(BotFlow.active).is_(True))
        .values(active=False)
    )  # fmt: skip
    if previous is not None:
        await config_changed(session, "bot_flow.switched_off", by=by, target_id=channel_id,
                             before=_flow_state(previous), after=_flow_state(None))  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def flow_view(flow: BotFlow, *, with_source: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flow.id, "channel_id": flow.channel_id, "version": flow.version, "name": flow.name,
        "active": flow.active, "created_by": flow.created_by, "created_at": flow.created_at.isoformat(),
    }  # fmt: skip
    if with_source:
        view["source"] = flow.source
        view["definition"] = flow.definition
    return view


# ---------------------------------------------------------------------------- hours
async def team_hours(session: AsyncSession, team_id: int | None) -> BusinessHours | None:
    schedule = await session.get(TeamSchedule, team_id) if team_id is not None else None
    return stored_hours(schedule)


def stored_hours(schedule: TeamSchedule | None) -> BusinessHours | None:
    """A stored schedule as the one schedule type; None (always open) when there is none, or
    when a row saved before the shared validator is unusable (logged, never raised in a job)."""
    if schedule is None:
        return None
    try:
        return BusinessHours.from_json(
            {
                "timezone": schedule.timezone,
                "weekly": schedule.weekly,
                "holidays": schedule.holidays,
            }
        )
    except ScheduleError as error:
        log.warning("unusable team schedule", team_id=schedule.team_id, reason=str(error))
        return None


async def set_team_hours(
    session: AsyncSession, team_id: int, timezone: str, weekly: dict[str, Any],
    holidays: list[str], *, by: Any = None,
) -> TeamSchedule:  # fmt: skip
    """Validates with the one schedule validator (ScheduleError → 422 naming the field, by the
    route) and stores a team's schedule, normalised (ranges sorted); audited and announced as
    `team.hours_updated` (to whoever sees the team's events)."""
    if await session.get(Team, team_id) is None:
        raise ServiceError(404, "no such team")
    hours = BusinessHours.from_json({"timezone": timezone, "weekly": weekly, "holidays": holidays})
    normal = hours.to_json()
    found = await session.get(TeamSchedule, team_id)
    before = _schedule_json(found) if found is not None else None
    schedule = found or TeamSchedule(team_id=team_id)
    schedule.timezone, schedule.weekly = normal["timezone"], normal["weekly"]
    schedule.holidays = normal["holidays"]
    schedule.updated_at = utcnow()
    session.add(schedule)
    await session.flush()
    await config_changed(
        session, "team.hours_updated", by=by, target_id=team_id, before=before,
        after=_schedule_json(schedule), data={"hours": _schedule_json(schedule)}, team_id=team_id,
    )  # fmt: skip
    return schedule


def _schedule_json(schedule: TeamSchedule) -> dict[str, Any]:
    return {"team_id": schedule.team_id, "timezone": schedule.timezone,
            "weekly": schedule.weekly, "holidays": schedule.holidays}  # fmt: skip


def closed_until(hours: BusinessHours | None, now: datetime, language: str) -> str | None:
    """None when the team is open (or has no schedule); else when it is back, in words."""
    if hours is None or hours.is_open(now):
        return None
    opening = hours.next_opening(now)
    return describe(opening, now, language) if opening else "soon"


# ---------------------------------------------------------------------------- consent
async def set_consent(
    session: AsyncSession, contact: Contact, *, opted_out: bool, source: str,
    detail: str | None = None, message_id: int | None = None,
) -> bool:  # fmt: skip
    """Records a change (time and source); False, and no row, when nothing changes."""
    if contact.opted_out == opted_out:
        return False
    assert contact.id is not None
    contact.opted_out = opted_out
    contact.updated_at = utcnow()
    session.add(ConsentChange(contact_id=contact.id, opted_out=opted_out, source=source,
                              detail=detail, message_id=message_id))  # fmt: skip
    await session.flush()
    return True


async def consent_history(session: AsyncSession, contact_id: int) -> list[ConsentChange]:
    query = select(ConsentChange).where(col(ConsentChange.contact_id) == contact_id)
    return list((await session.execute(query.order_by(col(ConsentChange.id)))).scalars())


def consent_word(settings: Settings, text: str | None) -> bool | None:
    """True for an opt-out word, False for an opt-in word, None for anything else."""
    said = normalize(text or "")
    if said in {normalize(w) for w in settings.consent_stop_words}:
        return True
    if said in {normalize(w) for w in settings.consent_start_words}:
        return False
    return None


# ---------------------------------------------------------------------------- queue
@dataclass(frozen=True)
class QueueEstimate:
    position: int
    minutes: int


async def queue_estimate(session: AsyncSession, conversation: Conversation) -> QueueEstimate:
    """Place in the team's queue (priority first, then arrival) and a wait from recent handling.

    Throughput is the online members' open-chat slots over the mean handling time (first
    response to resolution) of the team's conversations of the last two weeks.
    """
    mine_at = conversation.queued_at or utcnow()
    ahead = (
        await session.execute(
            select(func.count()).select_from(Conversation).where(
                col(Conversation.team_id) == conversation.team_id,
                col(Conversation.status) == ConversationStatus.queued.value,
                or_(
                    col(Conversation.priority) > conversation.priority,
                    and_(col(Conversation.priority) == conversation.priority,
                         or_(col(Conversation.queued_at) < mine_at,
                             and_(col(Conversation.queued_at) == mine_at,
                                  col(Conversation.id) < (conversation.id or 0)))),
                ),
            )
        )
    ).scalar_one()  # fmt: skip
    position = int(ahead) + 1
    recent = (
        await session.execute(
            select(Conversation.first_response_at, Conversation.resolved_at).where(
                col(Conversation.team_id) == conversation.team_id,
                col(Conversation.status) == ConversationStatus.resolved.value,
                col(Conversation.first_response_at).is_not(None),
                col(Conversation.resolved_at) > utcnow() - HISTORY,
            ).order_by(col(Conversation.resolved_at).desc()).limit(50)
        )
    ).all()  # fmt: skip
    spans = [
        (resolved - first) for first, resolved in recent if first and resolved and resolved > first
    ]
    handling = sum(spans, timedelta()) / len(spans) if spans else DEFAULT_HANDLING
    slots = (
        await session.execute(
            select(func.coalesce(func.sum(col(Agent.capacity)), 0))
            .join(AgentTeam, col(AgentTeam.agent_id) == col(Agent.id))
            .where(col(AgentTeam.team_id) == conversation.team_id, col(Agent.active).is_(True),
                   col(Agent.presence) == Presence.online.value)
        )
    ).scalar_one()  # fmt: skip
    minutes = position * handling.total_seconds() / 60 / max(1, int(slots))
    return QueueEstimate(position, max(1, math.ceil(minutes)))


# ---------------------------------------------------------------------------- steps
@dataclass
class StepOutcome:
    sends: list[int] = field(default_factory=list)
    processed: int = 0


def _input_of(message: Message) -> Input:
    payload = message.payload or {}
    if message.type == "interactive":
        reply_id = payload.get("id")
        return Input(
            payload.get("title") or message.text, reply_id if isinstance(reply_id, str) else None
        )
    if message.type == "button":  # a template's quick-reply button
        reply_id = payload.get("payload")
        return Input(message.text, reply_id if isinstance(reply_id, str) else None)
    return Input(message.text)


def _said(message: Message) -> str:
    if message.type in ("interactive", "button"):
        return f"[{message.text or 'tap'}]"
    return message.text if message.text else f"[{message.type}]"


class _Step:
    """One run over a conversation's unseen messages, in the caller's transaction."""

    def __init__(self, session: AsyncSession, settings: Settings, conversation: Conversation,
                 contact: Contact, outcome: StepOutcome, *, muted: bool = False) -> None:  # fmt: skip
        self.session, self.settings = session, settings
        self.conversation, self.contact, self.outcome = conversation, contact, outcome
        self.muted = muted  # the customer cannot be reached: the bot writes notes, not messages

    async def say(self, draft: Draft) -> None:
        """Writes a bot message — unless it could not be sent: then nothing, and no failed job."""
        if self.muted or (draft.kind != "template" and not window_open(self.contact)):
            return
        message = await write_message(self.session, self.conversation, draft, sender=Sender.bot)
        assert message.id is not None
        self.outcome.sends.append(message.id)

    async def consent(self, message: Message, opted_out: bool, language: str) -> None:
        """STOP/START work in any conversation; the bot confirms only where it may speak."""
        changed = await set_consent(
            self.session, self.contact, opted_out=opted_out, source="keyword",
            detail=message.text, message_id=message.id,
        )  # fmt: skip
        if not changed:
            return
        verb = "opted out of messages" if opted_out else "opted back in to messages"
        await write_note(self.session, self.conversation, f"Customer {verb} (sent “{message.text}”).",
                         "consent", {"opted_out": opted_out})  # fmt: skip
        if self.conversation.status in (
            ConversationStatus.bot.value,
            ConversationStatus.queued.value,
        ):
            await self.say(text_draft(phrase("stopped" if opted_out else "started", language)))

    async def bot_turn(self, row: BotState, message: Message) -> None:
        flow = await self.session.get(BotFlow, row.flow_id)
        if flow is None:
            await self.handoff(row, Handoff(None, 0, None, None, "the bot flow is gone"), None)
            return
        engine = Engine(flow.definition)
        state = State(
            row.node, dict(row.fields), list(row.inputs), row.topic, row.misses, row.language
        )
        state.inputs = [*state.inputs, _said(message)][-MAX_INPUTS:]
        turn: Turn = engine.answer(state, _input_of(message))
        row.node, row.fields, row.inputs = state.node, state.fields, state.inputs
        row.topic, row.misses, row.language = state.topic, state.misses, state.language
        if state.fields:  # `collect` answers are facts about the customer: keep them on the profile
            await remember(self.session, self.contact, state.fields)
        if turn.language_chosen:
            self.contact.language = turn.language_chosen
        for draft in turn.says:
            await self.say(draft)
        if turn.handoff is not None:
            await self.handoff(row, turn.handoff, engine, said=bool(turn.says))
        elif turn.end:
            await self.end()

    async def handoff(self, row: BotState, handoff: Handoff, engine: Engine | None,
                      said: bool = False) -> None:  # fmt: skip
        session, conversation = self.session, self.conversation
        team = None
        if handoff.team:
            team = (
                await session.execute(select(Team).where(col(Team.name) == handoff.team))
            ).scalar_one_or_none()
        if team is None:
            channel = await session.get(Channel, conversation.channel_id)
            team = (
                await session.get(Team, channel.default_team_id)
                if channel and channel.default_team_id
                else None
            )
        now = utcnow()
        row.node, row.handed_off_at, row.wait_notice_at = None, now, now
        await lifecycle.queue(
            session, conversation, by=BOT, team_id=team.id if team else None,
            priority=handoff.priority, announced=False,
        )  # fmt: skip
        team_name = team.name if team else "support"
        language = row.language

        def talk(name: str, **values: Any) -> str:
            if engine is not None:
                return engine.phrase(name, language, **values)
            return phrase(name, language, **values)

        if not said:
            await self.say(text_draft(talk("handoff", team=team_name)))
        when = closed_until(await team_hours(session, conversation.team_id), now, language)
        if when is not None:
            status_line = f"The team is closed now; back {when}."
            await self.say(text_draft(talk("closed", team=team_name, when=when)))
        else:
            estimate = await queue_estimate(session, conversation)
            status_line = (
                f"Queue position {estimate.position}, estimated wait {estimate.minutes} min."
            )
            await self.say(
                text_draft(talk("queue", position=estimate.position, minutes=estimate.minutes))
            )
        lines = [f"Bot handoff to {team_name} (priority {handoff.priority}): {handoff.reason}."]
        if handoff.topic or row.topic:
            lines.append(f"Topic: {handoff.topic or row.topic}")
        for name, value in row.fields.items():
            lines.append(f"{name.replace('_', ' ').capitalize()}: {value}")
        if row.inputs:
            lines.append("Customer said: " + " · ".join(row.inputs))
        if handoff.note:
            lines.append(f"Note: {handoff.note}")
        lines.append(status_line)
        await write_note(session, conversation, "\n".join(lines), "handoff", {
            "team": team_name, "topic": handoff.topic or row.topic, "fields": dict(row.fields),
            "said": list(row.inputs), "reason": handoff.reason, "priority": handoff.priority,
        })  # fmt: skip
        await lifecycle.announce(session, Move.queue, conversation, by=BOT)

    async def wait_notice(self, row: BotState) -> None:
        """A queued customer who writes again hears their place, at most every five minutes."""
        now = utcnow()
        if row.wait_notice_at is not None and now - row.wait_notice_at < WAIT_NOTICE_EVERY:
            return
        row.wait_notice_at = now
        hours = await team_hours(self.session, self.conversation.team_id)
        when = closed_until(hours, now, row.language)
        team = (
            await self.session.get(Team, self.conversation.team_id)
            if self.conversation.team_id
            else None
        )
        team_name = team.name if team else "support"
        if when is not None:
            text = phrase("closed", row.language, team=team_name, when=when)
        else:
            estimate = await queue_estimate(self.session, self.conversation)
            text = phrase(
                "queue", row.language, position=estimate.position, minutes=estimate.minutes
            )
        await self.say(text_draft(text))

    async def end(self) -> None:
        conversation = self.conversation
        await lifecycle.resolve(self.session, conversation, by=BOT, announced=False)
        await write_note(self.session, conversation, "The bot ended the conversation.", "bot_end")
        await lifecycle.announce(self.session, Move.resolve, conversation, by=BOT)


async def _new_state(
    session: AsyncSession, conversation: Conversation, contact: Contact
) -> BotState | None:
    flow = await active_flow(session, conversation.channel_id)
    if flow is None or flow.id is None or conversation.id is None:
        return None
    definition = flow.definition
    language = pick_language(contact.language, contact.wa_id, definition["languages"],
                             definition["default_language"])  # fmt: skip
    row = BotState(conversation_id=conversation.id, flow_id=flow.id, language=language)
    session.add(row)
    await session.flush()
    return row


WINDOW_CLOSED = (
    "the bot cannot answer: the 24-hour customer-service window is closed (the customer's"
    " message arrived late); only a template can reach them now"
)


async def hand_off_undelivered(
    session: AsyncSession, settings: Settings, conversation_id: int, message_id: int
) -> StepOutcome:
    """A bot message failed for good (failed or dead): a person takes over, told why.

    Nothing more is said to the customer — a message that could not be sent says nothing — and a
    conversation already handed off, or held by a person, is left alone.
    """
    outcome = StepOutcome()
    conversation = await session.get(Conversation, conversation_id)
    message = await session.get(Message, message_id)
    if (
        conversation is None
        or message is None
        or conversation.status != ConversationStatus.bot.value
    ):
        return outcome
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    row = await session.get(BotState, conversation_id) or BotState(
        conversation_id=conversation_id, flow_id=0
    )
    why = (
        f"{message.error_code}: {message.error_title}"
        if message.error_code
        else message.error_title
    )
    step = _Step(session, settings, conversation, contact, outcome, muted=True)
    reason = f"the bot's message could not be sent ({why or message.status})"
    await step.handoff(row, Handoff(None, 0, None, None, reason), None)
    await session.flush()
    outcome.processed = 1
    return outcome


async def process_messages(
    session: AsyncSession, settings: Settings, conversation_id: int, message_id: int,
    until_id: int | None = None,
) -> StepOutcome:  # fmt: skip
    """Handles the conversation's customer messages the bot has not seen, oldest first.

    Without a bot (no state row) only consent keywords matter, in the messages `message_id` to
    `until_id` (one webhook batch's messages of this conversation)."""
    outcome = StepOutcome()
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return outcome
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    row = await session.get(BotState, conversation_id)
    if row is None and conversation.status == ConversationStatus.bot.value:
        row = await _new_state(session, conversation, contact)
    query = select(Message).where(
        col(Message.conversation_id) == conversation_id,
        col(Message.direction) == Direction.inbound.value,
    )
    if row is not None:
        query = query.where(col(Message.id) > row.last_message_id)
    else:
        query = query.where(  # no bot here: consent only
            col(Message.id) >= message_id, col(Message.id) <= (until_id or message_id)
        )
    step = _Step(session, settings, conversation, contact, outcome)
    for message in (await session.execute(query.order_by(col(Message.id)))).scalars():
        assert message.id is not None
        outcome.processed += 1
        language = row.language if row is not None else pick_language(
            contact.language, contact.wa_id, ["en", "de", "es"], "en")  # fmt: skip
        if row is not None:
            row.last_message_id = message.id
            row.updated_at = utcnow()
        consent = consent_word(settings, message.text) if message.type == "text" else None
        status = conversation.status
        if consent is not None:
            await step.consent(message, consent, language)
        elif status == ConversationStatus.bot.value:
            if row is None:  # the flow was switched off since the conversation began
                await step.handoff(BotState(conversation_id=conversation_id, flow_id=0),
                                   Handoff(None, 0, None, None, "no active bot flow"), None)  # fmt: skip
            elif not window_open(contact):
                # Delivered late (Meta retries for days), or written after the window closed:
                # the bot may not answer, so a person must — with a template.
                await step.handoff(row, Handoff(None, 0, None, None, WINDOW_CLOSED), None)
            else:
                await step.bot_turn(row, message)
        elif status == ConversationStatus.queued.value and row is not None and row.handed_off_at:
            await step.wait_notice(row)
        # assigned: a human holds the chat and the bot stays silent; resolved: not the bot's
    await session.flush()
    return outcome
