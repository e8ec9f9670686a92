"""The lifecycle's transition table on its own: which moves are allowed from which states, where
each lands, which event it emits — and the event catalogue against the code and the docs.

The table below is written out by hand from the product's rules (PRODUCT.md: a resolved chat is
only reopened; a bot's chat is handed off or ended; a snooze ends by waking, a transfer or a
resolve), not derived from `lifecycle.FROM`, so a change to the module shows up here as a diff
to review. The end-to-end behaviour of each move is in test_routing, test_snooze, test_assignment,
tests/bots and tests/sla.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.agents.models import Agent, Presence
from backend.conversations import lifecycle
from backend.conversations.lifecycle import EVENT, FROM, TO, Move
from backend.conversations.models import Conversation, ConversationStatus
from backend.core.errors import ServiceError
from backend.realtime.types import CONVERSATION_EVENTS, EventType

ROOT = Path(__file__).resolve().parents[2]
STATES = [s.value for s in ConversationStatus]

# move -> the states it may start from (every other state is refused)
EXPECTED = {
    Move.open: set(),
    Move.queue: {"bot", "queued"},
    Move.assign: {"bot", "queued", "assigned"},
    Move.release: {"assigned"},
    Move.transfer: {"bot", "queued", "assigned", "snoozed"},
    Move.snooze: {"queued", "assigned", "snoozed"},
    Move.wake: {"snoozed"},
    Move.resolve: {"bot", "queued", "assigned", "snoozed"},
    Move.reopen: {"resolved"},
}


def test_the_table_covers_every_move_and_only_known_states() -> None:
    assert set(FROM) == set(TO) == set(EVENT) == set(Move) == set(EXPECTED)
    for move in Move:
        assert FROM[move] <= set(STATES) and TO[move] <= set(STATES), move
        assert TO[move], f"{move} lands nowhere"


@pytest.mark.parametrize("move", list(Move))
@pytest.mark.parametrize("status", STATES)
def test_each_move_is_allowed_exactly_from_its_states(move: Move, status: str) -> None:
    assert lifecycle.allowed(move, status) is (status in EXPECTED[move])
    conversation = Conversation(contact_id=1, channel_id=1, status=status)
    if status in EXPECTED[move]:
        lifecycle.require(move, conversation)
    else:
        with pytest.raises(ServiceError) as refused:
            lifecycle.require(move, conversation)
        assert refused.value.status == 409
        assert status in refused.value.detail


def test_a_resolved_conversation_only_reopens_and_nothing_else_lands_there() -> None:
    assert [m for m in Move if lifecycle.allowed(m, "resolved")] == [Move.reopen]
    assert [m for m in Move if "resolved" in TO[m]] == [Move.resolve]


def test_only_a_new_conversation_or_a_bot_handoff_enters_the_bot_state_or_leaves_it() -> None:
    assert [m for m in Move if "bot" in TO[m]] == [Move.open]
    assert not lifecycle.allowed(Move.release, "bot")
    assert not lifecycle.allowed(Move.snooze, "bot")  # a person snoozes, after a handoff


def test_every_move_emits_its_own_conversation_event() -> None:
    events = list(EVENT.values())
    assert len(set(events)) == len(events)
    assert set(events) <= CONVERSATION_EVENTS
    # The one conversation event that is no move: labels or the contact changed.
    assert CONVERSATION_EVENTS - set(events) == {EventType.conversation_updated}


def test_event_types_are_their_wire_strings() -> None:
    assert EventType.conversation_claimed == "conversation.claimed"
    assert f"{EventType.message_status}" == "message.status"
    for member in EventType:
        assert member.name == member.value.replace(".", "_"), member


NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def _opening(**overrides: object) -> dict[str, object]:
    given: dict[str, object] = {
        "channel_id": 3, "contact_id": 4, "team_id": 5, "has_bot": False, "now": NOW,
    }  # fmt: skip
    return lifecycle.opening(**{**given, **overrides})  # type: ignore[arg-type]


def test_a_new_conversation_waits_in_its_channels_team_queue_unless_a_bot_greets_first() -> None:
    queued = _opening()
    assert queued["status"] == "queued" and queued["queued_at"] == NOW
    assert (queued["channel_id"], queued["contact_id"], queued["team_id"]) == (3, 4, 5)
    assert queued["created_at"] == queued["updated_at"] == queued["last_activity_at"] == NOW
    assert "assignee_id" not in queued and "source" not in queued
    with_bot = _opening(has_bot=True)
    assert with_bot["status"] == "bot" and with_bot["queued_at"] is None  # queued at the handoff
    assert with_bot["team_id"] == 5


def test_only_an_ads_referral_object_marks_a_new_conversation_as_from_an_ad() -> None:
    ad = {"source_id": "120", "source_type": "ad"}
    assert _opening(referral=ad) == _opening() | {"source": "ad", "referral": ad}
    assert "source" not in _opening(referral="not an object")
    assert "source" not in _opening(referral=None)


def _conversation(status: str, team_id: int | None = 5) -> Conversation:
    values = _opening(has_bot=status == "bot", team_id=team_id) | {"id": 9}
    return Conversation(**values)


@pytest.mark.parametrize("team_id", [5, None])
def test_a_new_queued_conversation_announces_created_before_its_message_and_queued_after(
    team_id: int | None,
) -> None:
    conversation, view = _conversation("queued", team_id), {"id": 9, "status": "queued"}
    news = lifecycle.opened(conversation, view)
    assert [e.type for e in news.before] == ["conversation.created"]
    assert [e.type for e in news.after] == ["conversation.queued"]
    assert news.queued_team_id == team_id  # the queue auto-assign is asked to drain
    for event in [*news.before, *news.after]:
        assert event.data == {"conversation": view}
        assert (event.conversation_id, event.team_id, event.assignee_id) == (9, team_id, None)
        assert event.seq is None and event.recipient_id is None  # numbered at commit


def test_a_new_bots_conversation_announces_only_that_it_was_created() -> None:
    news = lifecycle.opened(_conversation("bot"), {"id": 9, "status": "bot"})
    assert [e.type for e in news.before] == ["conversation.created"]
    assert news.after == [] and news.queued_team_id is None


def _agent(presence: str, active: bool = True) -> Agent:
    return Agent(id=7, email="a@example.com", name="A", password_hash="x", presence=presence,
                 active=active)  # fmt: skip


def test_waking_gives_it_back_to_its_holder_only_when_they_are_active_and_online() -> None:
    cleared = {"snoozed_until": None, "snoozed_by_id": None, "updated_at": NOW}
    back = lifecycle.woken(_agent(Presence.online.value), NOW)
    assert back == {"status": "assigned", "assignee_id": 7, **cleared}  # `queued_at` kept
    queue = {"status": "queued", "assignee_id": None, "queued_at": NOW, **cleared}
    assert lifecycle.woken(_agent(Presence.online.value, active=False), NOW) == queue
    for presence in Presence:
        if presence != Presence.online:
            assert lifecycle.woken(_agent(presence.value), NOW) == queue, presence
    assert lifecycle.woken(None, NOW) == queue  # nobody held it (snoozed from the queue)
    for moved in (back, queue):
        assert moved["status"] in TO[Move.wake]


_EMITTED = [
    # record_event(session, "…")
    re.compile(r'_events?\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_]+)"'),
    re.compile(r'\btype="([a-z_]+\.[a-z_]+)"'),  # Event(type=...), row_object(Event, type=...)
    re.compile(r'\bevent="([a-z_]+\.[a-z_]+)"'),
    re.compile(r'_changed\(\s*\w+,\s*\w+,\s*"([a-z_]+\.[a-z_]+)"'),  # channels' config events
]


def test_every_type_string_written_in_the_code_is_in_the_catalogue() -> None:
    """Files not yet moved to `EventType` still write strings: each must be a member."""
    found = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in (ROOT / "backend").rglob("*.py")
        for pattern in _EMITTED
        for name in pattern.findall(path.read_text())
    }
    assert found, "the scan found nothing: the patterns are stale"
    unknown = sorted((where, name) for where, name in found if name not in set(EventType))
    assert not unknown, unknown


def test_docs_events_md_names_every_event_type() -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    missing = [t.value for t in EventType if f"`{t.value}`" not in text]
    assert not missing, missing
