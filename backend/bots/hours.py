"""Team business hours: is the team open now, and when is it back (in the team's time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "es": (
        "el lunes",
        "el martes",
        "el miércoles",
        "el jueves",
        "el viernes",
        "el sábado",
        "el domingo",
    ),
}
_RELATIVE = {"en": ("today", "tomorrow", "at"), "de": ("heute", "morgen", "um"),
             "es": ("hoy", "mañana", "a las")}  # fmt: skip
LOOKAHEAD_DAYS = 31


class HoursError(ValueError):
    """The schedule is invalid; the message says which part."""


def _clock(value: Any, where: str) -> time:
    if not isinstance(value, str):
        raise HoursError(f"{where}: times are strings like '09:00'")
    if value == "24:00":
        return time.max
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise HoursError(f"{where}: '{value}' is not a time like '09:00'") from None


@dataclass(frozen=True)
class Hours:
    zone: ZoneInfo
    weekly: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date]

    @classmethod
    def parse(cls, timezone: str, weekly: dict[str, Any], holidays: list[str]) -> Hours:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"timezone: '{timezone}' is not an IANA time zone") from None
        intervals: dict[int, list[tuple[time, time]]] = {}
        for day, ranges in weekly.items():
            if day not in DAYS:
                raise HoursError(f"weekly: '{day}' is not one of {', '.join(DAYS)}")
            if not isinstance(ranges, list):
                raise HoursError(f"weekly.{day}: give a list of [open, close] pairs")
            parsed = []
            for pair in ranges:
                if not isinstance(pair, list | tuple) or len(pair) != 2:
                    raise HoursError(f"weekly.{day}: each interval is [open, close]")
                start, end = _clock(pair[0], f"weekly.{day}"), _clock(pair[1], f"weekly.{day}")
                if end <= start:
                    raise HoursError(f"weekly.{day}: {pair[0]}-{pair[1]} closes before it opens")
                parsed.append((start, end))
            intervals[DAYS.index(day)] = sorted(parsed)
        try:
            days = frozenset(date.fromisoformat(h) for h in holidays)
        except (TypeError, ValueError):
            raise HoursError("holidays: give ISO dates like 2026-12-25") from None
        return cls(zone, intervals, days)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.weekly.get(local.weekday(), []))

    def next_opening(self, at: datetime) -> datetime | None:
        """The next moment the team opens (None when open now or never within a month)."""
        if self.is_open(at):
            return None
        local = at.astimezone(self.zone)
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _ in self.weekly.get(day.weekday(), []):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


def describe(opening: datetime, now: datetime, language: str) -> str:
    """'tomorrow at 09:00 (Europe/Berlin)', 'Monday at 09:00 (…)', in the customer's language."""
    words = _RELATIVE.get(language, _RELATIVE["en"])
    names = _DAY_NAMES.get(language, _DAY_NAMES["en"])
    zone = opening.tzinfo
    days = (opening.date() - now.astimezone(zone).date()).days
    day = words[0] if days == 0 else words[1] if days == 1 else names[opening.weekday()]
    return f"{day} {words[2]} {opening:%H:%M} ({zone})"
