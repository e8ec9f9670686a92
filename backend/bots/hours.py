"""How the bot says when a team is back ("tomorrow at 09:00 (Europe/Berlin)"), in the customer's
language. The schedule itself is `backend.agents.hours.BusinessHours`, shared with the SLA clocks."""

from __future__ import annotations

from datetime import datetime

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


def describe(opening: datetime, now: datetime, language: str) -> str:
    """'tomorrow at 09:00 (Europe/Berlin)', 'Monday at 09:00 (…)', in the customer's language."""
    words = _RELATIVE.get(language, _RELATIVE["en"])
    names = _DAY_NAMES.get(language, _DAY_NAMES["en"])
    zone = opening.tzinfo
    days = (opening.date() - now.astimezone(zone).date()).days
    day = words[0] if days == 0 else words[1] if days == 1 else names[opening.weekday()]
    return f"{day} {words[2]} {opening:%H:%M} ({zone})"
