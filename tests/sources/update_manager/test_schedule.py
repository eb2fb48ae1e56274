"""Next maintenance window for every recurEvery form, across DST in a Windows time zone, expiry.

"Now" comes from freezegun (the source computes windows at refresh time from ``ctx.now()``, which
is the wall clock); expected values are worked out by hand from a calendar and written in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from exporter.sources.update_manager.parse_schedule import (
    Occurrence,
    Recurrence,
    ScheduleError,
    next_window,
    parse_duration,
    parse_recurrence,
    parse_window,
    zone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def upcoming(
    recur: str,
    start: str = "2026-01-03 22:00",
    tz: str = "UTC",
    duration: str = "03:00",
    expiration: str | None = None,
) -> Occurrence | None:
    return next_window(parse_window(start, duration, tz, recur, expiration), datetime.now(UTC))


# 2026-11-21 is a Saturday; 2026-01-03 (the schedules' start) is a Saturday too.
CASES = [
    ("Day", utc(2026, 11, 21, 22), "daily at 22:00"),
    ("3Days", utc(2026, 11, 23, 22), "every third day from Jan 3: 324 days later is Nov 23"),
    ("Week Saturday,Sunday", utc(2026, 11, 21, 22), "Saturday evening"),
    ("Week Monday", utc(2026, 11, 23, 22), "next Monday"),
    ("2Weeks", utc(2026, 11, 21, 22), "46 weeks after Jan 3: an even week"),
    ("3Weeks", utc(2026, 12, 5, 22), "Nov 14 was week 45 (a multiple of 3); next is week 48"),
    ("Month", utc(2026, 12, 3, 22), "the 3rd of each month"),
    ("2Months", utc(2027, 1, 3, 22), "Jan, Mar, … Nov 3 passed; next is Jan 3"),
    ("Month day23,day24", utc(2026, 11, 23, 22), "the 23rd"),
    ("Month day-1", utc(2026, 11, 30, 22), "the last day of the month"),
    ("Month Last Sunday", utc(2026, 11, 29, 22), "Nov 29 is the last Sunday"),
    ("Month Fourth Monday", utc(2026, 11, 23, 22), "Mondays: 2, 9, 16, 23"),
    ("Month Fourth Monday Offset-3", utc(2026, 12, 25, 22), "Nov 23-3 = Nov 20 passed; Dec 28-3"),
    ("Month Third Sunday Offset6", utc(2026, 11, 21, 22), "Nov 15+6 = Nov 21"),
    ("Month First Friday Offset2", utc(2026, 12, 6, 22), "Nov 6+2 = Nov 8 passed; Dec 4+2"),
]


@freeze_time("2026-11-21T12:00:00Z")
@pytest.mark.parametrize(("recur", "start", "why"), CASES, ids=[c[0] for c in CASES])
def test_every_recur_every_form(recur: str, start: datetime, why: str) -> None:
    window = upcoming(recur)
    assert window is not None, why
    assert window.start == start, why
    assert window.end == start + timedelta(hours=3)


@freeze_time("2026-11-21T23:00:00Z")
def test_an_open_window_is_the_next_one_until_it_ends() -> None:
    window = upcoming("Day")
    assert window == Occurrence(utc(2026, 11, 21, 22), utc(2026, 11, 22, 1))


@freeze_time("2026-11-22T01:00:00Z")
def test_a_window_that_just_ended_is_replaced_by_the_following_one() -> None:
    assert upcoming("Day") == Occurrence(utc(2026, 11, 22, 22), utc(2026, 11, 23, 1))


@freeze_time("2025-06-01T00:00:00Z")
def test_before_the_first_window_the_start_itself_is_next() -> None:
    assert upcoming("Week Saturday,Sunday", start="2026-01-03 22:00") == Occurrence(
        utc(2026, 1, 3, 22), utc(2026, 1, 4, 1)
    )


# W. Europe Standard Time (Europe/Berlin): CEST ends on 2026-10-25 03:00 local (01:00 UTC).
@freeze_time("2026-10-24T12:00:00Z")
def test_dst_end_in_a_windows_time_zone_keeps_the_local_time() -> None:
    before = upcoming("Day", start="2026-10-01 02:00", tz="W. Europe Standard Time", duration="02:00")
    assert before == Occurrence(utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))  # 02:00 CEST (+2)


@freeze_time("2026-10-25T03:00:00Z")
def test_dst_end_next_day_is_in_winter_time() -> None:
    after = upcoming("Day", start="2026-10-01 02:00", tz="W. Europe Standard Time", duration="02:00")
    assert after == Occurrence(utc(2026, 10, 26, 1), utc(2026, 10, 26, 3))  # 02:00 CET (+1)


# Pacific Standard Time (America/Los_Angeles): PDT starts 2026-03-08 02:00 local, 02:30 does not exist.
@freeze_time("2026-03-07T12:00:00Z")
def test_dst_start_wall_clock_gap_resolves_with_the_old_offset() -> None:
    window = upcoming("Week Sunday", start="2026-01-04 02:30", tz="Pacific Standard Time", duration="01:00")
    assert window == Occurrence(utc(2026, 3, 8, 10, 30), utc(2026, 3, 8, 11, 30))  # 02:30 PST = 03:30 PDT
    assert window.start.astimezone(zone("Pacific Standard Time")).hour == 3


@freeze_time("2026-03-09T00:00:00Z")
def test_weekly_window_after_dst_start_moves_one_hour_earlier_in_utc() -> None:
    window = upcoming("Week Sunday", start="2026-01-04 02:30", tz="Pacific Standard Time", duration="01:00")
    assert window == Occurrence(utc(2026, 3, 15, 9, 30), utc(2026, 3, 15, 10, 30))


@freeze_time("2026-11-21T12:00:00Z")
def test_expired_configuration_has_no_next_window() -> None:
    assert upcoming("Day", expiration="2026-06-30 00:00") is None


@freeze_time("2026-11-21T12:00:00Z")
def test_expiration_cuts_between_two_windows() -> None:
    assert upcoming("Day", expiration="2026-11-22 00:00") == Occurrence(
        utc(2026, 11, 21, 22), utc(2026, 11, 22, 1)
    )
    assert upcoming("Day", expiration="2026-11-21 21:59") is None


@freeze_time("2026-11-21T12:00:00Z")
def test_default_expiration_9999_means_never() -> None:
    assert upcoming("Day", expiration="9999-12-31 23:59") is not None


@freeze_time("2026-11-21T12:00:00Z")
def test_the_reference_configuration_example() -> None:
    # maintenance-configuration.json: every 5 days from 2020-04-30 08:00 Pacific, 5 hours.
    window = upcoming(
        "5Days",
        start="2020-04-30 08:00",
        tz="Pacific Standard Time",
        duration="05:00",
        expiration="9999-12-31 00:00",
    )
    assert window is not None
    local = window.start.astimezone(zone("Pacific Standard Time"))
    assert (local.hour, local.minute) == (8, 0)
    assert (local.date() - datetime(2020, 4, 30).date()).days % 5 == 0
    assert window.end - window.start == timedelta(hours=5)
    assert window.end > datetime.now(UTC) >= window.start - timedelta(days=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Day", Recurrence("day", 1)),
        ("3Days", Recurrence("day", 3)),
        ("Week Saturday,Sunday", Recurrence("week", 1, weekdays=(5, 6))),
        ("2Weeks", Recurrence("week", 2)),
        ("Month day23,day24", Recurrence("month", 1, month_days=(23, 24))),
        ("Month Last Sunday", Recurrence("month", 1, weekdays=(6,), ordinal=-1)),
        ("Month Fourth Monday Offset-3", Recurrence("month", 1, weekdays=(0,), ordinal=4, offset_days=-3)),
        ("month last sunday", Recurrence("month", 1, weekdays=(6,), ordinal=-1)),
    ],
)
def test_recur_every_grammar(text: str, expected: Recurrence) -> None:
    assert parse_recurrence(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Fortnight",
        "0Days",
        "Day Monday",
        "Week Funday",
        "Month day32",
        "Month Fifth Monday",
        "Month Last Sunday Offset-7",
        "Month Last",
    ],
)
def test_bad_recur_every_is_an_error(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_recurrence(text)


def test_durations_and_zones() -> None:
    assert parse_duration("03:55") == timedelta(hours=3, minutes=55)
    for bad in ("PT3H", "3h", "00:00", "01:75"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)
    assert zone("W. Europe Standard Time").key == "Europe/Berlin"
    assert zone("utc").key in ("Etc/UTC", "UTC")
    assert zone("Europe/Paris").key == "Europe/Paris"  # IANA names pass through
    with pytest.raises(ScheduleError):
        zone("Mars Standard Time")
