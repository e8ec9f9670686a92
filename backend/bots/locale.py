"""A contact's country from the calling code of their WhatsApp number: language and time zone.

WhatsApp ids are full international numbers without `+`, so the longest matching calling-code
prefix names the country. Countries spanning several zones get their most populous one; that is
good enough for "is it night there?" and for a first guess at the language, which the customer
can always change explicitly.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

# calling code → (IANA time zone, language)
COUNTRY_CODES: dict[str, tuple[str, str]] = {
    "1": ("America/New_York", "en"),
    "7": ("Europe/Moscow", "ru"),
    "20": ("Africa/Cairo", "ar"),
    "27": ("Africa/Johannesburg", "en"),
    "30": ("Europe/Athens", "el"),
    "31": ("Europe/Amsterdam", "nl"),
    "32": ("Europe/Brussels", "nl"),
    "33": ("Europe/Paris", "fr"),
    "34": ("Europe/Madrid", "es"),
    "36": ("Europe/Budapest", "hu"),
    "39": ("Europe/Rome", "it"),
    "40": ("Europe/Bucharest", "ro"),
    "41": ("Europe/Zurich", "de"),
    "43": ("Europe/Vienna", "de"),
    "44": ("Europe/London", "en"),
    "45": ("Europe/Copenhagen", "da"),
    "46": ("Europe/Stockholm", "sv"),
    "47": ("Europe/Oslo", "no"),
    "48": ("Europe/Warsaw", "pl"),
    "49": ("Europe/Berlin", "de"),
    "51": ("America/Lima", "es"),
    "52": ("America/Mexico_City", "es"),
    "54": ("America/Argentina/Buenos_Aires", "es"),
    "55": ("America/Sao_Paulo", "pt"),
    "56": ("America/Santiago", "es"),
    "57": ("America/Bogota", "es"),
    "58": ("America/Caracas", "es"),
    "60": ("Asia/Kuala_Lumpur", "ms"),
    "61": ("Australia/Sydney", "en"),
    "62": ("Asia/Jakarta", "id"),
    "63": ("Asia/Manila", "en"),
    "64": ("Pacific/Auckland", "en"),
    "65": ("Asia/Singapore", "en"),
    "66": ("Asia/Bangkok", "th"),
    "81": ("Asia/Tokyo", "ja"),
    "82": ("Asia/Seoul", "ko"),
    "84": ("Asia/Ho_Chi_Minh", "vi"),
    "86": ("Asia/Shanghai", "zh"),
    "90": ("Europe/Istanbul", "tr"),
    "91": ("Asia/Kolkata", "en"),
    "92": ("Asia/Karachi", "ur"),
    "212": ("Africa/Casablanca", "ar"),
    "234": ("Africa/Lagos", "en"),
    "254": ("Africa/Nairobi", "en"),
    "351": ("Europe/Lisbon", "pt"),
    "353": ("Europe/Dublin", "en"),
    "358": ("Europe/Helsinki", "fi"),
    "380": ("Europe/Kyiv", "uk"),
    "420": ("Europe/Prague", "cs"),
    "852": ("Asia/Hong_Kong", "zh"),
    "966": ("Asia/Riyadh", "ar"),
    "971": ("Asia/Dubai", "ar"),
    "972": ("Asia/Jerusalem", "he"),
}


def calling_code(wa_id: str | None) -> str | None:
    """The longest known calling-code prefix of the number, or None (also without a number)."""
    digits = (wa_id or "").lstrip("+")
    for length in (3, 2, 1):
        if digits[:length] in COUNTRY_CODES:
            return digits[:length]
    return None


def zone_of(wa_id: str | None, default: str = "UTC") -> ZoneInfo:
    code = calling_code(wa_id)
    return ZoneInfo(COUNTRY_CODES[code][0] if code else default)


def language_of(wa_id: str | None) -> str | None:
    code = calling_code(wa_id)
    return COUNTRY_CODES[code][1] if code else None


def pick_language(
    explicit: str | None, wa_id: str | None, available: list[str], default: str
) -> str:
    """Explicit choice, else the number's country, else the channel's default — among `available`."""
    for candidate in (explicit, language_of(wa_id)):
        if candidate and candidate in available:
            return candidate
    return default
