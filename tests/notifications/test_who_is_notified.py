"""The rule of who hears of which event (`due_for`, `woken_due`), event by event."""

from __future__ import annotations

from typing import Any

from backend.notifications.models import NotificationKind
from backend.notifications.services import due_for, woken_due
from backend.realtime.models import Event


def event(type_: str, assignee: int | None = 7, **data: Any) -> Event:
    return Event(seq=1, type=type_, conversation_id=3, team_id=1, assignee_id=assignee, data=data)


def kinds(found: list[Any]) -> list[tuple[int, NotificationKind]]:
    return [(d.agent_id, d.kind) for d in found]


def test_sla_alarms_go_to_the_assignee_only() -> None:
    clock = {"kind": "first_response"}
    assert kinds(due_for(event("sla.warning", clock=clock), "Ana")) == [
        (7, NotificationKind.sla_warning)
    ]
    breached = due_for(event("sla.breached", clock=clock), "Ana")
    assert kinds(breached) == [(7, NotificationKind.sla_breached)]
    assert "first response" in breached[0].text and "Ana" in breached[0].text
    assert due_for(event("sla.warning", assignee=None, clock=clock), "Ana") == []


def test_assigned_by_someone_else_but_not_a_self_claim() -> None:
    auto = event("conversation.claimed", by={"auto_assign": True})
    assert kinds(due_for(auto, "Ana")) == [(7, NotificationKind.assigned)]
    assert due_for(event("conversation.claimed", by={"id": 7, "name": "Me"}), "Ana") == []
    moved = due_for(event("conversation.transferred", by={"id": 2, "name": "Lena"}), "Ana")
    assert kinds(moved) == [(7, NotificationKind.transferred)] and "Lena" in moved[0].text
    assert due_for(event("conversation.transferred", assignee=None, by={"id": 2}), "Ana") == []


def test_mentions_skip_the_author_and_other_messages() -> None:
    note = {"type": "note", "text": "look", "sender_agent": {"id": 5, "name": "Bo"},
            "payload": {"mentions": [{"id": 5, "name": "Bo"}, {"id": 8, "name": "Cy"}]}}  # fmt: skip
    assert kinds(due_for(event("message.created", message=note), "Ana")) == [
        (8, NotificationKind.mention)
    ]
    plain = {**note, "type": "text"}
    assert due_for(event("message.created", message=plain), "Ana") == []


def test_a_snoozed_chat_answered_tells_its_holder() -> None:
    assert kinds(
        woken_due(event("conversation.woken", assignee=None, reason="customer", holder_id=4), "Ana")
    ) == [(4, NotificationKind.snoozed_answered)]
    assert woken_due(event("conversation.woken", reason="timer", holder_id=4), "Ana") == []
