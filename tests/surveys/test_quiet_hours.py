"""Quiet hours are computed in the contact's own time zone, from their number's country code."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backend.bots.locale import zone_of
from backend.surveys.services import quiet_until, rating_rows


def test_a_berlin_evening_is_deferred_to_eight_the_next_morning_there() -> None:
    berlin = zone_of("491701234567")
    assert berlin == ZoneInfo("Europe/Berlin")
    at = datetime(2026, 1, 15, 20, 30, tzinfo=UTC)  # 21:30 in Berlin (CET, UTC+1)
    assert quiet_until(at, berlin) == datetime(2026, 1, 16, 8, 0, tzinfo=berlin)
    assert quiet_until(at, berlin) == datetime(2026, 1, 16, 7, 0, tzinfo=UTC)


def test_the_same_instant_is_afternoon_in_new_york_so_it_is_sent() -> None:
    at = datetime(2026, 1, 15, 20, 30, tzinfo=UTC)  # 15:30 in New York
    assert quiet_until(at, zone_of("12125550123")) is None


def test_small_hours_defer_to_the_same_morning_and_summer_time_is_respected() -> None:
    sydney = zone_of("61412345678")
    at = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # 02:00 on the 16th in Sydney (AEDT, UTC+11)
    assert quiet_until(at, sydney) == datetime(2026, 1, 16, 8, 0, tzinfo=sydney)
    assert quiet_until(at, sydney) == datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
    berlin = zone_of("491701234567")
    summer = datetime(2026, 7, 1, 18, 59, tzinfo=UTC)  # 20:59 in Berlin (CEST, UTC+2)
    assert quiet_until(summer, berlin) is None
    assert quiet_until(datetime(2026, 7, 1, 19, 0, tzinfo=UTC), berlin) == datetime(
        2026, 7, 2, 6, 0, tzinfo=UTC
    )


def test_exactly_eight_is_not_quiet_and_the_rating_list_fits_whatsapp() -> None:
    assert quiet_until(datetime(2026, 1, 16, 7, 0, tzinfo=UTC), zone_of("491701234567")) is None
    rows = rating_rows(17, "en")
    assert [r["id"] for r in rows] == [f"csat:17:{n}" for n in (5, 4, 3, 2, 1)]
    assert all(len(r["title"]) <= 24 for lang in ("en", "de", "es") for r in rating_rows(1, lang))
