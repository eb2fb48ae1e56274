"""Every odd Azure date, time and duration format is parsed here (reference Appendix A)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
MAX_DURATION_SECONDS = 100 * 365.25 * 86400
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_iso(text: object) -> datetime | None:
    """ISO 8601 with 0-9 fractional digits and any offset; sentinel and empty values → None.

    Azure Stack sends 7 or 8 fractional digits and local offsets; `9999-12-31…` and
    `0001-01-01…` are "no date" sentinels. A value without zone is taken as UTC.
    Raises ValueError for text that is not a date at all.
    """
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"not a date: {text!r}")
    m = _ISO.match(text.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    if m.group("date").startswith(("9999-", "0001-")):
        return None
    time_part = m.group("time")
    if time_part.count(":") == 1:
        time_part += ":00"
    frac = (m.group("frac") or "0")[:6].ljust(6, "0")
    tz = m.group("tz") or "+00:00"
    if tz.upper() == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{m.group('date')}T{time_part}.{frac}{tz}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # month 13, or an offset past year 1/9999
        raise ValueError(f"ISO 8601 date out of range: {text!r}") from exc


def parse_rfc1123(text: str) -> datetime:
    """RFC 1123 (`Mon, 19 Sep 2023 18:00:00 GMT`); the weekday is not validated because
    Microsoft's own samples carry wrong weekdays. Raises ValueError."""
    try:
        parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            # parsedate_to_datetime returns naive for "-0000"; RFC 1123 GMT means UTC.
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ValueError(f"not an RFC 1123 date: {text!r}") from exc


def parse_iso_duration(text: object) -> float | None:
    """`PT14H43M50.0644552S` → seconds; empty → None; raises ValueError otherwise.

    Durations beyond MAX_DURATION_SECONDS are rejected (ValueError): no update runs for a
    century, and `P99999999999D` must not overflow the caller's date arithmetic.
    """
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"not a duration: {text!r}")
    m = _DURATION.match(text.strip())
    if not m or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if not seconds <= MAX_DURATION_SECONDS:  # also catches inf from a 400-digit number
        raise ValueError(f"ISO 8601 duration out of range: {text[:40]!r}")
    return round(seconds, 6)  # microseconds, as timedelta kept them
