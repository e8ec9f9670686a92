"""Which events notify whom, and the notification centre's reads and writes.

Notifications are made from committed events by a reaction (`hooks.py` → the `notify` job), never
by the request that caused them, so a crash after a commit delays a notification and never loses
it; one per agent and event (`uq_notifications_agent_source`), however often the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.conversations.models import Contact, Conversation
from backend.db.types import utcnow
from backend.notifications.models import Notification, NotificationKind
from backend.realtime.events import record_event
from backend.realtime.models import Event
from backend.realtime.types import EventType

NOTIFYING = {
    "message.created", "conversation.claimed", "conversation.transferred", "sla.warning",
    "sla.breached", "conversation.woken",
}  # fmt: skip


@dataclass(frozen=True)
class Due:
    """One notification an event calls for."""

    agent_id: int
    kind: NotificationKind
    text: str
    data: dict[str, Any]


def _actor(event: Event) -> int | None:
    by: Any = event.data.get("by") or {}
    return by.get("id") if isinstance(by, dict) and isinstance(by.get("id"), int) else None


def due_for(event: Event, customer: str) -> list[Due]:
    """The rule: who hears of this event, and what they read. `customer` names the chat."""
    data = event.data
    if event.type == "message.created":
        message: dict[str, Any] = data.get("message") or {}
        if message.get("type") != "note":
            return []
        author: dict[str, Any] = message.get("sender_agent") or {}
        mentions: list[dict[str, Any]] = (message.get("payload") or {}).get("mentions") or []
        text = f"{author.get('name') or 'A colleague'} mentioned you in the chat with {customer}"
        extra = {"message_id": message.get("id"), "excerpt": (message.get("text") or "")[:200],
                 "by": author}  # fmt: skip
        return [
            Due(m["id"], NotificationKind.mention, text, extra)
            for m in mentions
            if isinstance(m.get("id"), int) and m["id"] != author.get("id")
        ]
    assignee = event.assignee_id
    if assignee is None:
        return []
    if event.type in ("conversation.claimed", "conversation.transferred"):
        if _actor(event) == assignee:
            return []  # they took it themselves
        if event.type == "conversation.claimed":
            return [Due(assignee, NotificationKind.assigned,
                        f"The chat with {customer} was assigned to you", {})]  # fmt: skip
        by: Any = data.get("by") or {}
        who = by.get("name") if isinstance(by, dict) else None
        return [Due(assignee, NotificationKind.transferred,
                    f"{who or 'A colleague'} transferred the chat with {customer} to you", {})]  # fmt: skip
    if event.type in ("sla.warning", "sla.breached"):
        clock: dict[str, Any] = data.get("clock") or {}
        kind = clock.get("kind", "SLA").replace("_", " ")
        if event.type == "sla.warning":
            return [Due(assignee, NotificationKind.sla_warning,
                        f"The {kind} target of the chat with {customer} is near", {"clock": clock})]  # fmt: skip
        return [Due(assignee, NotificationKind.sla_breached,
                    f"The {kind} target of the chat with {customer} was missed", {"clock": clock})]  # fmt: skip
    return []


def woken_due(event: Event, customer: str) -> list[Due]:
    """A snoozed chat the customer answered: its holder hears of it, wherever the chat went."""
    if event.data.get("reason") != "customer":
        return []
    holder = event.data.get("holder_id")
    if not isinstance(holder, int):
        return []
    return [Due(holder, NotificationKind.snoozed_answered,
                f"{customer} answered the chat you snoozed", {})]  # fmt: skip


def notification_json(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "conversation_id": notification.conversation_id,
        "text": notification.text,
        "data": notification.data,
        "read": notification.read_at is not None,
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        "created_at": notification.created_at.isoformat(),
    }


async def _customer_name(session: AsyncSession, conversation_id: int | None) -> str:
    if conversation_id is None:
        return "a customer"
    conversation = await session.get(Conversation, conversation_id)
    contact = await session.get(Contact, conversation.contact_id) if conversation else None
    return contact.label if contact else "a customer"


async def notify_from(session: AsyncSession, event: Event) -> list[Notification]:
    """Writes the notifications an event calls for, each with its private `notification.created`
    event; those that exist already (a repeated job) are skipped. Caller commits."""
    if event.type not in NOTIFYING or event.seq is None:
        return []
    customer = await _customer_name(session, event.conversation_id)
    dues = (
        woken_due(event, customer)
        if event.type == "conversation.woken"
        else due_for(event, customer)
    )
    made = []
    for due in dues:
        notification = Notification(
            agent_id=due.agent_id, kind=due.kind.value, conversation_id=event.conversation_id,
            source_seq=event.seq, text=due.text[:1000], data=due.data,
        )  # fmt: skip
        try:
            async with session.begin_nested():
                session.add(notification)
        except IntegrityError:
            continue  # made by an earlier run of this job
        await record_event(
            session, EventType.notification_created, {"notification": notification_json(notification)},
            conversation_id=event.conversation_id, recipient_id=due.agent_id,
        )  # fmt: skip
        made.append(notification)
    return made


async def list_for(
    session: AsyncSession, agent_id: int, *, unread_only: bool = False, limit: int = 50
) -> dict[str, Any]:
    query = select(Notification).where(col(Notification.agent_id) == agent_id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    rows = (
        await session.execute(
            # In the order of their causes: notify jobs run in parallel, so ids may not be.
            query.order_by(col(Notification.source_seq).desc(), col(Notification.id).desc()).limit(
                limit
            )
        )
    ).scalars()
    unread = (
        await session.execute(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.agent_id) == agent_id, col(Notification.read_at).is_(None))
        )
    ).scalar_one()
    return {"items": [notification_json(n) for n in rows], "unread": int(unread)}


async def mark_read(
    session: AsyncSession, agent_id: int, notification_id: int
) -> Notification | None:
    """None when it is not this agent's (another agent's notification is a 404, not a 403)."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.agent_id != agent_id:
        return None
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, agent_id: int) -> int:
    result = await session.execute(
        update(Notification)
        .where(col(Notification.agent_id) == agent_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
