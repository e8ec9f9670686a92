"""Delivery statuses stored a whole set at a time: a template sent to 10,000 customers comes back
as 30,000 statuses (sent, delivered, read), and each used to cost about eight statements.

For the statuses of a commit group's webhooks: one read of their messages with their
conversations' routing (team, assignee; the messages row-locked on PostgreSQL, so a send
recording its own status cannot interleave), one each for what the messages' JSON shows besides
(`views.messages_json`); then each status is applied in order in memory — forward only, as
`ingest.apply_status` does — with one `message.status` event per status applied, and every
message's final state written in one executemany UPDATE. A status whose message is not found (a
send whose answer was never read, or one not stored yet) takes the exact path:
`ingest.store_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from backend.channels.base import StatusUpdate
from backend.channels.models import Channel
from backend.conversations.bulk_ingest import IngestResult
from backend.conversations.models import Conversation, Message, MessageStatus
from backend.conversations.views import messages_json
from backend.db.bulk import row_object, update_all
from backend.db.engine import dialect_name
from backend.db.types import utcnow
from backend.realtime.types import EventType

if TYPE_CHECKING:
    from backend.realtime.models import Event

# Delivery states only move forward; `failed` can follow `sent` but never undoes a delivery.
STATUS_RANK = {
    MessageStatus.queued.value: 0,
    MessageStatus.sending.value: 1,
    MessageStatus.sent.value: 2,
    MessageStatus.delivered.value: 3,
    MessageStatus.read.value: 4,
    MessageStatus.played.value: 5,
}
FAILED_FROM = (MessageStatus.queued.value, MessageStatus.sending.value, MessageStatus.sent.value)
_WRITTEN = ("status", "updated_at", "pricing_category", "pricing_model", "billable",
            "error_code", "error_title")  # fmt: skip


@dataclass
class StatusEntry:
    """One status of the set, and the webhook's result that counts it."""

    channel: Channel
    update: StatusUpdate
    result: IngestResult

    @property
    def channel_id(self) -> int:
        assert self.channel.id is not None, "channels come from the database"
        return self.channel.id


def moves_forward(current: str, status: str) -> bool:
    """Whether `status` may follow `current` (statuses arrive late, twice, out of order)."""
    if status == MessageStatus.failed.value:
        return current in FAILED_FROM
    rank = STATUS_RANK.get(status)
    return rank is not None and STATUS_RANK.get(current, 99) < rank


def changes_of(update_: Any) -> dict[str, Any]:
    """The columns a status writes (a `StatusUpdate`, or a kept `PendingStatus`)."""
    values: dict[str, Any] = {"status": update_.status, "updated_at": utcnow()}
    if isinstance(update_, StatusUpdate) and update_.pricing_category:
        values |= {"pricing_category": update_.pricing_category,
                   "pricing_model": update_.pricing_model, "billable": update_.billable}  # fmt: skip
    if update_.status == MessageStatus.failed.value:
        values |= {"error_code": update_.error_code, "error_title": update_.error_title}
    return values


async def apply_statuses(
    session: AsyncSession, entries: list[StatusEntry]
) -> tuple[list[StatusEntry], list[Event]]:
    """Applies the statuses whose messages are stored. Returns the entries left for the exact
    path (in order) and the events to record (the caller records them, with the rest)."""
    from backend.realtime.models import Event  # the log's row; realtime imports this domain

    if not entries:
        return [], []
    # The messages with their conversations' routing (team, assignee) for the events, in one
    # read; on PostgreSQL only the messages are row-locked, in id order (no deadlock).
    query = (
        select(Message, col(Conversation.team_id), col(Conversation.assignee_id))
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(
            col(Message.channel_id).in_({e.channel_id for e in entries}),
            col(Message.provider_message_id).in_({e.update.provider_message_id for e in entries}),
        )
    )
    if dialect_name(session) == "postgresql":
        query = query.order_by(col(Message.id)).with_for_update(of=Message)
    found: dict[tuple[int, str | None], Message] = {}
    routes: dict[int, tuple[int | None, int | None]] = {}
    for row, team_id, assignee_id in (await session.execute(query)).all():
        found[(row.channel_id, row.provider_message_id)] = row
        routes[row.conversation_id] = (team_id, assignee_id)
    left = [e for e in entries if (e.channel_id, e.update.provider_message_id) not in found]
    if not found:
        return left, []
    applied: list[tuple[Message, dict[str, Any]]] = []
    changed: dict[int, Message] = {}
    for entry in entries:
        message = found.get((entry.channel_id, entry.update.provider_message_id))
        if message is None or not moves_forward(message.status, entry.update.status):
            continue  # unknown (left for the exact path), or stale: nothing changes
        for name, value in changes_of(entry.update).items():
            set_committed_value(message, name, value)  # written below, once per message
        changed[id(message)] = message
        entry.result.statuses_applied += 1
        applied.append((message, _state(message)))
    rows = list(changed.values())
    views = {id(m): v for m, v in zip(rows, await messages_json(session, rows), strict=True)}
    events: list[Event] = []
    for message, state in applied:
        team_id, assignee_id = routes[message.conversation_id]
        events.append(row_object(Event,
            type=EventType.message_status, data={"message": {**views[id(message)], **state}},
            conversation_id=message.conversation_id, team_id=team_id, assignee_id=assignee_id,
        ))  # fmt: skip
    await update_all(session, rows, [{n: getattr(m, n) for n in _WRITTEN} for m in rows])
    return left, events


def _state(message: Message) -> dict[str, Any]:
    """What a status changes in the message's JSON: each event shows the state it moved to."""
    failed = message.error_code is not None or message.error_title
    error = {"code": message.error_code, "title": message.error_title} if failed else None
    return {"status": message.status, "error": error}
