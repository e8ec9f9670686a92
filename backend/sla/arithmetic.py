"""SLA time arithmetic, pure: when does a target fall due, and how much of it has been used?

Counted time is the time from the clock's start that lies inside business hours (when the policy
counts business hours only) and outside every pause (while the conversation waited on the
customer). Everything here is a function of its arguments, so the clocks, the timers and the
reports agree, and the property tests can compare it with a minute-by-minute reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from backend.agents.hours import BusinessHours

Pause = tuple[datetime, datetime | None]  # an open pause (no end yet) stops the clock for good

HORIZON = timedelta(days=400)  # a target that a schedule cannot reach in this time has no due date


def counted_spans(
    start: datetime,
    hours: BusinessHours | None,
    pauses: Sequence[Pause] = (),
    horizon: timedelta = HORIZON,
) -> Iterator[tuple[datetime, datetime]]:
    """The intervals after `start` that count towards a target, in order."""
    spans: Iterable[tuple[datetime, datetime]] = (
        hours.open_intervals(start, horizon) if hours else [(start, start + horizon)]
    )
    ordered = sorted((begin, end if end is not None else start + horizon) for begin, end in pauses)
    for begin, end in spans:
        cursor = begin
        for pause_start, pause_end in ordered:
            if pause_end <= cursor or pause_start >= end:
                continue
            if pause_start > cursor:
                yield cursor, pause_start
            cursor = max(cursor, pause_end)
            if cursor >= end:
                break
        if cursor < end:
            yield cursor, end


def deadline(
    start: datetime,
    target_seconds: float,
    hours: BusinessHours | None = None,
    pauses: Sequence[Pause] = (),
    horizon: timedelta = HORIZON,
) -> datetime | None:
    """The instant at which `target_seconds` of counted time have passed; None if never (paused)."""
    remaining = max(0.0, float(target_seconds))
    for begin, end in counted_spans(start, hours, pauses, horizon):
        length = (end - begin).total_seconds()
        if remaining <= length:
            return begin + timedelta(seconds=remaining)
        remaining -= length
    return None


def elapsed(
    start: datetime,
    now: datetime,
    hours: BusinessHours | None = None,
    pauses: Sequence[Pause] = (),
) -> float:
    """Counted seconds between `start` and `now`."""
    if now <= start:
        return 0.0
    total = 0.0
    for begin, end in counted_spans(start, hours, pauses, now - start):
        total += (min(end, now) - begin).total_seconds()
    return total
