"""A team's business hours: the one schedule type and the one validator.

The bots (out-of-hours answers, "we are back Monday at 09:00") and the SLA clocks (which
instants count towards a target) read the same stored row through this type, and the teams API
validates a new schedule with the same `BusinessHours.from_json`, so a schedule the API accepts
is one both can use: an overlapping range is refused when it is saved (naming the field), never
found later by a worker.

Weekly hours are local wall-clock minute ranges per weekday in the team's IANA time zone
(`"24:00"` closes at midnight); holidays are local dates on which nothing is open. Intervals are
converted to UTC day by day, so daylight-saving changes move the UTC instants but never the local
opening times. Pure: no database, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
NEXT_OPENING_DAYS = 31

MinuteRange = tuple[int, int]


class ScheduleError(ValueError):
    """The schedule cannot be used; `field` names the part (`timezone`, `weekly.mon`,
    `holidays`) and the message says why, starting with that field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _minutes(value: Any, field: str) -> int:
    if not isinstance(value, str):
        raise ScheduleError(field, "times are strings like '09:00'")
    try:
        hours, minutes = value.split(":")
        total = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ScheduleError(field, f"'{value}' is not a time like '09:00'") from None
    if not 0 <= total <= MINUTES_PER_DAY or not 0 <= int(minutes) < 60 or len(minutes) != 2:
        raise ScheduleError(field, f"'{value}' is not a time of day")
    return total


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ranges(day: str, given: Any) -> tuple[MinuteRange, ...]:
    field = f"weekly.{day}"
    if not isinstance(given, list | tuple):
        raise ScheduleError(field, "give a list of [open, close] pairs")
    ranges: list[MinuteRange] = []
    for pair in given:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ScheduleError(field, "each interval is [open, close]")
        start, end = _minutes(pair[0], field), _minutes(pair[1], field)
        if end <= start:
            raise ScheduleError(field, f"{pair[0]}-{pair[1]} closes before it opens")
        ranges.append((start, end))
    ranges.sort()
    for (_, first_end), (second_start, second_end) in pairwise(ranges):
        if second_start < first_end:
            raise ScheduleError(
                field,
                f"{_hhmm(second_start)}-{_hhmm(second_end)} overlaps the range ending "
                f"{_hhmm(first_end)}",
            )
    return tuple(ranges)


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
            raise ScheduleError("timezone", f"'{self.timezone}' is not an IANA time zone") from None
        if len(self.weekly) != 7:
            raise ScheduleError("weekly", "needs one entry per weekday")
        for day, ranges in zip(DAYS, self.weekly, strict=True):
            if ranges != _ranges(day, [[_hhmm(s), _hhmm(e)] for s, e in ranges]):
                raise ScheduleError(f"weekly.{day}", "ranges must be sorted")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BusinessHours:
        """The validator: `{"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00",
        "17:00"]]}, "holidays": ["2026-12-25"]}` (the stored row and the API body alike)."""
        timezone = data.get("timezone")
        if not isinstance(timezone, str) or not timezone.strip():
            raise ScheduleError("timezone", "give an IANA time zone like Europe/Berlin")
        weekly_in = data.get("weekly") or {}
        if not isinstance(weekly_in, dict):
            raise ScheduleError("weekly", "give the days mon … sun with their intervals")
        for day in weekly_in:
            if day not in DAYS:
                raise ScheduleError("weekly", f"'{day}' is not one of {', '.join(DAYS)}")
        weekly = tuple(_ranges(day, weekly_in.get(day, [])) for day in DAYS)
        holidays_in = data.get("holidays") or []
        if not isinstance(holidays_in, list):
            raise ScheduleError("holidays", "give a list of ISO dates like 2026-12-25")
        days: set[date] = set()
        for value in holidays_in:
            try:
                days.add(date.fromisoformat(value))
            except (TypeError, ValueError):
                raise ScheduleError(
                    "holidays", f"'{value}' is not an ISO date like 2026-12-25"
                ) from None
        return cls(timezone.strip(), weekly, frozenset(days))

    def to_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "weekly": {
                day: [[_hhmm(s), _hhmm(e)] for s, e in ranges]
                for day, ranges in zip(DAYS, self.weekly, strict=True)
                if ranges
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

    def next_opening(self, instant: datetime) -> datetime | None:
        """When the team opens next, in its zone (None when open now, or not within a month)."""
        if self.is_open(instant):
            return None
        for begin, _ in self.open_intervals(instant, timedelta(days=NEXT_OPENING_DAYS)):
            if begin > instant:
                return begin.astimezone(self.zone)
        return None
