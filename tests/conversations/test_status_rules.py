"""The forward-only rule for delivery statuses, alone (both ingest paths use it)."""

from __future__ import annotations

import pytest

from backend.conversations.bulk_statuses import moves_forward


@pytest.mark.parametrize(
    ("current", "status", "forward"),
    [
        ("queued", "sent", True),
        ("sending", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("read", "played", True),
        ("sent", "read", True),  # `delivered` may never come
        ("read", "delivered", False),  # late: a delivery never undoes a read
        ("delivered", "delivered", False),  # twice
        ("sent", "failed", True),
        ("delivered", "failed", False),  # failed never undoes a delivery
        ("failed", "sent", False),
        ("received", "read", False),  # a customer's message has no delivery statuses
        ("sent", "deleted", False),  # a status we do not know moves nothing
    ],
)
def test_statuses_only_move_forward(current: str, status: str, forward: bool) -> None:
    assert moves_forward(current, status) is forward
