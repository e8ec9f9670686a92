"""The one schedule type: what it accepts, what it refuses (naming the field), and what it says
about instants, in the team's zone across daylight saving and holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.agents.hours import BusinessHours, ScheduleError

BERLIN_WEEKDAYS = {
    "timezone": "Europe/Berlin",
    "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
}


def refused(data: dict[str, Any]) -> ScheduleError:
    with pytest.raises(ScheduleError) as caught:
        BusinessHours.from_json(data)
    return caught.value


def test_overlapping_ranges_are_refused_with_the_day_named() -> None:
    error = refused(
        {"timezone": "UTC", "weekly": {"tue": [["13:00", "18:00"], ["09:00", "14:00"]]}}
    )
    assert error.field == "weekly.tue"
    assert "13:00-18:00 overlaps the range ending 14:00" in error.reason


def test_touching_and_unsorted_ranges_are_fine_and_come_back_sorted() -> None:
    hours = BusinessHours.from_json(
        {"timezone": "UTC", "weekly": {"mon": [["13:00", "17:00"], ["09:00", "13:00"]]}}
    )
    assert hours.to_json()["weekly"] == {"mon": [["09:00", "13:00"], ["13:00", "17:00"]]}
    assert BusinessHours.from_json(hours.to_json()) == hours


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "not an IANA time zone"),
        ({"weekly": {}}, "timezone", "give an IANA time zone"),
        ({"timezone": "UTC", "weekly": {"funday": []}}, "weekly", "'funday' is not one of"),
        ({"timezone": "UTC", "weekly": {"mon": [["9am", "5pm"]]}}, "weekly.mon", "not a time"),
        (
            {"timezone": "UTC", "weekly": {"mon": [["17:00", "09:00"]]}},
            "weekly.mon",
            "closes before",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": [["09:00", "24:30"]]}},
            "weekly.mon",
            "not a time of day",
        ),
        ({"timezone": "UTC", "weekly": {"mon": [["09:00"]]}}, "weekly.mon", "[open, close]"),
        ({"timezone": "UTC", "holidays": ["25.12.2026"]}, "holidays", "not an ISO date"),
    ],
)
def test_malformed_parts_are_named(data: dict[str, Any], field: str, words: str) -> None:
    error = refused(data)
    assert error.field == field and words in error.reason
    assert str(error).startswith(f"{field}: ")


def test_open_and_closed_in_the_teams_zone_across_daylight_saving() -> None:
    hours = BusinessHours.from_json(BERLIN_WEEKDAYS)
    # Winter: Berlin is UTC+1; summer: UTC+2. 09:00 local is 08:00 and 07:00 UTC.
    assert hours.is_open(datetime(2026, 1, 14, 8, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 1, 14, 7, 59, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 7, 15, 7, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 7, 15, 15, 0, tzinfo=UTC))  # 17:00 local
    assert not hours.is_open(datetime(2026, 7, 18, 10, 0, tzinfo=UTC))  # a Saturday
    assert not hours.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))  # the holiday


def test_next_opening_skips_weekends_and_holidays() -> None:
    hours = BusinessHours.from_json(BERLIN_WEEKDAYS)
    friday_evening = datetime(2026, 7, 17, 18, 0, tzinfo=UTC)
    opening = hours.next_opening(friday_evening)
    assert opening is not None and opening.isoformat() == "2026-07-20T09:00:00+02:00"
    christmas_eve_night = datetime(2026, 12, 24, 20, 0, tzinfo=UTC)  # Thursday; Friday is off
    after = hours.next_opening(christmas_eve_night)
    assert after is not None and after.isoformat() == "2026-12-28T09:00:00+01:00"
    assert hours.next_opening(datetime(2026, 7, 15, 10, 0, tzinfo=UTC)) is None  # open now


def test_a_day_can_run_until_midnight() -> None:
    hours = BusinessHours.from_json({"timezone": "UTC", "weekly": {"sat": [["20:00", "24:00"]]}})
    assert hours.is_open(datetime(2026, 7, 18, 23, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 7, 19, 0, 0, tzinfo=UTC))
    intervals = list(
        hours.open_intervals(datetime(2026, 7, 18, 21, 0, tzinfo=UTC), timedelta(days=2))
    )
    assert intervals == [
        (datetime(2026, 7, 18, 21, 0, tzinfo=UTC), datetime(2026, 7, 19, 0, 0, tzinfo=UTC))
    ]


def test_a_schedule_that_is_never_open_has_no_next_opening() -> None:
    hours = BusinessHours.from_json({"timezone": "UTC"})
    assert not hours.is_open(datetime(2026, 7, 18, 12, 0, tzinfo=UTC))
    assert hours.next_opening(datetime(2026, 7, 18, 12, 0, tzinfo=UTC)) is None
