"""Maintenance windows (reference §6.2): parse ``maintenanceWindow`` and compute the next window.

Formats: ``startDateTime`` / ``expirationDateTime`` are ``YYYY-MM-DD hh:mm`` wall-clock times in
``timeZone``, a Windows time-zone ID (``W. Europe Standard Time``) mapped to IANA through the CLDR
windowsZones table that ``tzlocal`` ships (IANA names are accepted too); ``duration`` is ``HH:mm``;
``recurEvery`` follows the Maintenance RP grammar::

    [N]Day(s)                                   Day, 3Days
    [N]Week(s) [Monday,...,Sunday]              Week Saturday,Sunday, 2Weeks
    [N]Month(s) [dayD,...]                      Month, 2Months, Month day23,day24
    [N]Month(s) First|Second|Third|Fourth|Last <Weekday> [Offset±D]   Month Last Sunday Offset-3

Occurrences are generated with dateutil's ``rrule`` on *local wall-clock* times (so a 02:00
window stays at 02:00 local across a daylight-saving change) and converted to UTC with
``zoneinfo`` afterwards; a wall-clock time that does not exist (spring-forward gap) resolves with
the offset in force before the change, the way ``zoneinfo`` does for ``fold=0``. The duration is
elapsed time added to the UTC start. Without a weekday or day list, weekly and monthly schedules
repeat on ``startDateTime``'s weekday / day of month. An offset moves the whole window by whole
days; an occurrence that the offset moves before ``startDateTime`` is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule
from tzlocal.windows_tz import win_tz

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
_FREQ = {"day": rrule.DAILY, "week": rrule.WEEKLY, "month": rrule.MONTHLY}
_HEAD = re.compile(r"^(?P<n>\d*)\s*(?P<unit>day|week|month)s?$", re.IGNORECASE)
_LOCAL = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::\d{2})?\s*$")
_DURATION = re.compile(r"^\s*(\d{1,3}):(\d{2})(?::\d{2})?\s*$")
MAX_OCCURRENCES = 5000  # bounds the search on pathological rules (each step is at least a day)


class ScheduleError(ValueError):
    """A maintenance window field that cannot be understood (the message names it)."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    unit: str  # day | week | month
    interval: int
    weekdays: tuple[int, ...] = ()  # 0 = Monday (week: days of the week; month: with ordinal)
    month_days: tuple[int, ...] = ()
    ordinal: int | None = None  # month: 1..4 or -1 (Last)
    offset_days: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """A parsed ``maintenanceWindow``: local start and expiration, duration, zone, recurrence."""

    start_local: datetime  # naive wall clock in `zone`
    expiration_local: datetime | None  # None: never (9999-12-31 is treated as never)
    duration: timedelta
    zone: ZoneInfo
    recurrence: Recurrence | None  # None: a one-off window


@dataclass(frozen=True, slots=True)
class Occurrence:
    start: datetime  # UTC
    end: datetime  # UTC


def parse_local(value: str, field: str) -> datetime:
    m = _LOCAL.match(value or "")
    if not m:
        raise ScheduleError(f"{field} {value!r} is not 'YYYY-MM-DD hh:mm'")
    year, month, day, hour, minute = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - wall clock in the window's zone
    except ValueError as exc:
        raise ScheduleError(f"{field} {value!r}: {exc}") from None


def parse_duration(value: str) -> timedelta:
    m = _DURATION.match(value or "")
    if not m or int(m.group(2)) >= 60:
        raise ScheduleError(f"duration {value!r} is not 'HH:mm'")
    length = timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
    if length <= timedelta(0):
        raise ScheduleError(f"duration {value!r} is not positive")
    return length


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone for a Windows time-zone ID (or an IANA name); ScheduleError if unknown."""
    key = (name or "").strip()
    iana = win_tz.get(key) or next((v for k, v in win_tz.items() if k.lower() == key.lower()), key)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"timeZone {name!r} is neither a Windows nor an IANA time-zone ID") from None


def parse_recurrence(value: str) -> Recurrence:
    """``recurEvery`` → Recurrence; ScheduleError names what is wrong."""
    words = (value or "").replace(",", " , ").split()
    if not words:
        raise ScheduleError("recurEvery is empty")
    m = _HEAD.match(words[0])
    if m is None and len(words) > 1 and words[0].isdigit():  # "3 Days"
        m = _HEAD.match(words[0] + words[1])
        words = words[1:]
    if m is None:
        raise ScheduleError(f"recurEvery {value!r}: unknown frequency {words[0]!r}")
    unit, interval = m.group("unit").lower(), int(m.group("n") or 1)
    if interval < 1:
        raise ScheduleError(f"recurEvery {value!r}: frequency must be at least 1")
    rest = [w for w in words[1:] if w != ","]
    if unit == "day":
        if rest:
            raise ScheduleError(f"recurEvery {value!r}: a daily schedule takes no days")
        return Recurrence("day", interval)
    if unit == "week":
        return Recurrence("week", interval, weekdays=tuple(_weekday(w, value) for w in rest))
    return _monthly(interval, rest, value)


def _weekday(word: str, value: str) -> int:
    try:
        return WEEKDAYS.index(word.lower())
    except ValueError:
        raise ScheduleError(f"recurEvery {value!r}: {word!r} is not a weekday") from None


def _monthly(interval: int, rest: list[str], value: str) -> Recurrence:
    if not rest:
        return Recurrence("month", interval)
    if rest[0].lower().startswith("day"):
        days = []
        for word in rest:
            dm = re.fullmatch(r"day(-?\d{1,2})", word, re.IGNORECASE)
            if dm is None or not (1 <= abs(int(dm.group(1))) <= 31):
                raise ScheduleError(f"recurEvery {value!r}: {word!r} is not dayN (1-31)")
            days.append(int(dm.group(1)))
        return Recurrence("month", interval, month_days=tuple(days))
    if rest[0].lower() not in ORDINALS or len(rest) not in (2, 3):
        raise ScheduleError(f"recurEvery {value!r}: expected '<First..Fourth|Last> <Weekday> [Offset±N]'")
    offset = 0
    if len(rest) == 3:
        om = re.fullmatch(r"offset([+-]?\d+)", rest[2], re.IGNORECASE)
        if om is None or not -6 <= int(om.group(1)) <= 6:
            raise ScheduleError(f"recurEvery {value!r}: offset must be Offset-6 … Offset6")
        offset = int(om.group(1))
    return Recurrence(
        "month",
        interval,
        weekdays=(_weekday(rest[1], value),),
        ordinal=ORDINALS[rest[0].lower()],
        offset_days=offset,
    )


def parse_window(
    start: str, duration: str, time_zone: str, recur_every: str | None, expiration: str | None
) -> Window:
    start_local = parse_local(start, "startDateTime")
    expiration_local = parse_local(expiration, "expirationDateTime") if expiration else None
    if expiration_local is not None and expiration_local.year >= 9999:
        expiration_local = None
    recurrence = parse_recurrence(recur_every) if recur_every and recur_every.strip() else None
    return Window(start_local, expiration_local, parse_duration(duration), zone(time_zone), recurrence)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def _rule(window: Window, since_local: datetime) -> rrule.rrule:
    r = window.recurrence
    assert r is not None
    kwargs: dict[str, object] = {"dtstart": window.start_local, "interval": r.interval}
    if r.weekdays and r.ordinal is not None:
        kwargs["byweekday"] = _RRULE_DAYS[r.weekdays[0]](r.ordinal)
    elif r.weekdays:
        kwargs["byweekday"] = tuple(_RRULE_DAYS[d] for d in r.weekdays)
    elif r.month_days:
        kwargs["bymonthday"] = r.month_days
    return rrule.rrule(_FREQ[r.unit], **kwargs)  # type: ignore[arg-type]


def next_window(window: Window, now: datetime) -> Occurrence | None:
    """The window that is open at ``now`` or opens next; None once the schedule has expired.

    A window counts until its end, so while one is open its start is in the past.
    """
    tz = window.zone
    if window.recurrence is None:
        candidates: list[datetime] | rrule.rrule = [window.start_local]
    else:
        candidates = _rule(window, window.start_local)
    offset = timedelta(days=window.recurrence.offset_days if window.recurrence else 0)
    # Start the search a little before "now" in local time (offset, duration and DST slack).
    local_now = now.astimezone(tz).replace(tzinfo=None)
    search_from = local_now - window.duration - timedelta(days=8)
    iterator = (
        iter(candidates)
        if isinstance(candidates, list) or search_from <= window.start_local
        else candidates.xafter(search_from - offset, inc=True)
    )
    for count, base in enumerate(iterator):
        if count >= MAX_OCCURRENCES:
            return None
        local_start = base + offset
        if local_start < window.start_local:
            continue
        if window.expiration_local is not None and local_start >= window.expiration_local:
            return None
        start = to_utc(local_start, tz)
        end = start + window.duration
        if end > now:
            return Occurrence(start, end)
    return None
