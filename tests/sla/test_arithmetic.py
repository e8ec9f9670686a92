"""SLA arithmetic against a reference that simply walks the clock minute by minute.

The reference counts each minute after the start that is inside business hours (by converting
that minute to the team's local time) and outside every pause, and stops when the target is
reached. The implementation instead jumps from interval to interval; both must agree for any
schedule, holidays, pauses and time zone. Opening times are kept between 05:00 and 24:00, away
from the night-time daylight-saving jumps, where "09:00 local" stops being one instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.agents.hours import BusinessHours
from backend.sla.arithmetic import Pause, deadline, elapsed

MINUTE = timedelta(minutes=1)
WALK_LIMIT = 21 * 24 * 60  # minutes the reference walks before it gives up
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)  # spans the March DST changes in both hemispheres


def reference_deadline(
    start: datetime, target_minutes: int, hours: BusinessHours | None, pauses: list[Pause]
) -> datetime | None:
    counted = 0
    moment = start
    if target_minutes == 0:
        return None  # compared separately: the first counted instant
    for _ in range(WALK_LIMIT):
        paused = any(p <= moment < (e or datetime.max.replace(tzinfo=UTC)) for p, e in pauses)
        if not paused and (hours is None or hours.is_open(moment)):
            counted += 1
            if counted == target_minutes:
                return moment + MINUTE
        moment += MINUTE
    return None


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    cuts = sorted(draw(st.sets(st.integers(5 * 60, 24 * 60), max_size=4)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return tuple((cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2))


@st.composite
def schedules(draw: st.DrawFn) -> BusinessHours:
    weekly = tuple(draw(day_ranges()) for _ in range(7))
    if not any(weekly):
        weekly = (((9 * 60, 17 * 60),), *weekly[1:])
    holidays = draw(st.sets(st.integers(0, 30), max_size=3))
    return BusinessHours(
        draw(st.sampled_from(ZONES)),
        weekly,
        frozenset(date(2026, 3, 1) + timedelta(days=d) for d in holidays),
    )


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[Pause]:
    pauses: list[Pause] = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + MINUTE * draw(st.integers(0, 3000))
        length = draw(st.one_of(st.none(), st.integers(1, 2000)))
        pauses.append((begin, None if length is None else begin + MINUTE * length))
    return pauses


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_deadline_matches_minute_by_minute_reference(data: st.DataObject) -> None:
    start = EPOCH + MINUTE * data.draw(st.integers(0, 20 * 24 * 60), label="start")
    hours = data.draw(st.one_of(st.none(), schedules()), label="hours")
    pauses = data.draw(pause_lists(start), label="pauses")
    target = data.draw(st.integers(1, 900), label="target minutes")
    expected = reference_deadline(start, target, hours, pauses)
    got = deadline(start, target * 60, hours, pauses, horizon=MINUTE * WALK_LIMIT)
    if expected is None:
        assert got is None or got > start + MINUTE * WALK_LIMIT
    else:
        assert got == expected
        # The same arithmetic read backwards: exactly the target has elapsed at the deadline.
        assert elapsed(start, got, hours, pauses) == target * 60


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_elapsed_counts_what_the_reference_counts(data: st.DataObject) -> None:
    start = EPOCH + MINUTE * data.draw(st.integers(0, 10 * 24 * 60))
    hours = data.draw(st.one_of(st.none(), schedules()))
    pauses = data.draw(pause_lists(start))
    minutes = data.draw(st.integers(0, 4000))
    now = start + MINUTE * minutes
    counted = sum(
        1
        for i in range(minutes)
        if (hours is None or hours.is_open(start + MINUTE * i))
        and not any(p <= start + MINUTE * i < (e or now + MINUTE) for p, e in pauses)
    )
    assert elapsed(start, now, hours, pauses) == counted * 60


BERLIN_OFFICE = BusinessHours.from_json({
    "timezone": "Europe/Berlin",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
})  # fmt: skip


def test_business_hours_carry_a_target_over_the_night_weekend_and_a_holiday() -> None:
    # Thursday 24 Dec 2026, 16:30 Berlin (15:30 UTC); 1 hour of business time is due when the
    # office reopens on Monday 28 Dec (Friday is Christmas), at 09:30 Berlin.
    start = datetime(2026, 12, 24, 15, 30, tzinfo=UTC)
    assert deadline(start, 3600, BERLIN_OFFICE) == datetime(2026, 12, 28, 8, 30, tzinfo=UTC)


def test_a_pause_moves_the_deadline_by_its_length_and_an_open_pause_stops_it() -> None:
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    pause = (start + timedelta(minutes=5), start + timedelta(minutes=25))
    assert deadline(start, 600, None, [pause]) == start + timedelta(minutes=30)
    assert deadline(start, 600, None, [(pause[0], None)]) is None
    assert elapsed(start, start + timedelta(hours=1), None, [(pause[0], None)]) == 300


def test_daylight_saving_keeps_local_opening_hours() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: Friday 16:00 CET + 2 h of business
    # time ends Monday 10:00 CEST, which is 08:00 UTC (not 09:00).
    start = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    assert deadline(start, 7200, BERLIN_OFFICE) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
