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
from pathlib import Path

import pytest

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


_EMITTED = [
    # record_event(session, "…"), ingest's _message_event(session, "…")
    re.compile(r'_events?\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_]+)"'),
    re.compile(r'\btype="([a-z_]+\.[a-z_]+)"'),  # Event(type=...), the set-based ingest's rows
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
