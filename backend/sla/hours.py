"""A team's business hours as a value object: which instants count towards an SLA target.

Kept apart from the clock arithmetic so the bots' out-of-hours message can use the same schedule
(`is_open`). Weekly hours are local wall-clock minute ranges per weekday in the team's time zone;
holidays are local dates on which nothing is open. Intervals are converted to UTC day by day, so
daylight-saving changes move the UTC instants but never the local opening times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

MinuteRange = tuple[int, int]


class ScheduleError(ValueError):
    """The schedule cannot be used: unknown time zone, malformed or overlapping ranges."""


def _minutes(text: str) -> int:
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ScheduleError(f"not a HH:MM time: {text!r}") from None
    if not 0 <= value <= MINUTES_PER_DAY or not 0 <= int(minutes) < 60:
        raise ScheduleError(f"not a time of day: {text!r}")
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class BusinessHours:
    """Weekly open ranges (Monday first) in `timezone`, minus `holidays`."""

    timezone: str
    weekly: tuple[tuple[MinuteRange, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"unknown time zone {self.timezone!r}") from None
        if len(self.weekly) != 7:
            raise ScheduleError("weekly hours need one entry per weekday")
        for ranges in self.weekly:
            previous_end = -1
            for start, end in ranges:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise ScheduleError(f"empty or invalid range {_hhmm(start)}-{_hhmm(end)}")
                if start < previous_end:
                    raise ScheduleError("ranges of a day must be sorted and must not overlap")
                previous_end = end

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BusinessHours:
        """`{"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}, "holidays": [...]}`."""
        weekly_in = data.get("weekly") or {}
        unknown = set(weekly_in) - set(DAYS)
        if unknown:
            raise ScheduleError(f"unknown weekdays: {sorted(unknown)}")
        weekly = tuple(
            tuple(sorted((_minutes(s), _minutes(e)) for s, e in weekly_in.get(day, [])))
            for day in DAYS
        )
        try:
            holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays") or [])
        except ValueError as error:
            raise ScheduleError(f"holiday is not a date: {error}") from None
        return cls(str(data.get("timezone") or "UTC"), weekly, holidays)

    def to_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "weekly": {
                day: [[_hhmm(s), _hhmm(e)] for s, e in ranges]
                for day, ranges in zip(DAYS, self.weekly, strict=True)
            },
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }

    def _local(self, day: date, minutes: int) -> datetime:
        extra_days, rest = divmod(minutes, MINUTES_PER_DAY)
        local = datetime.combine(
            day + timedelta(days=extra_days), time(rest // 60, rest % 60), tzinfo=self.zone
        )
        return local.astimezone(UTC)

    def open_intervals(
        self, start: datetime, horizon: timedelta = timedelta(days=400)
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open UTC intervals from `start` on, in order, up to `start + horizon`."""
        limit = start + horizon
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        while True:
            if self._local(day, 0) >= limit:
                return
            if day not in self.holidays:
                for lo, hi in self.weekly[day.weekday()]:
                    begin, end = self._local(day, lo), self._local(day, hi)
                    if end <= start or end <= begin:
                        continue
                    if begin >= limit:
                        return
                    yield max(begin, start), min(end, limit)
            day += timedelta(days=1)

    def is_open(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(lo <= minute < hi for lo, hi in self.weekly[local.weekday()])
