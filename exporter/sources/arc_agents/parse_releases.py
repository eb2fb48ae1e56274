"""The agent release table and what it says about one machine (reference §5.4). Pure.

The packaged table (``parse_releases.csv``, generated from the reference CSV) is the base; a user file
(``release_table_file``, same columns, ``YYYY-MM`` or ``YYYY-MM-DD``) adds or replaces rows by
major.minor, so a site can add a version the day it ships. Support ends 365 days after the first
day of the release month; a version newer than the table's newest is supported with an unknown
release month (never age 0, never "unsupported"); any other version missing from the table, or
an unreadable one, is ``unknown``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib import resources

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.sources.arc_agents.model import (
    EXPIRING,
    NEWEST_SOURCES,
    SUPPORT_DAYS,
    SUPPORTED,
    UNKNOWN,
    UNSUPPORTED,
    Assessment,
    Newest,
    Release,
    ReleaseTable,
    Version,
)

_VERSION = re.compile(r"^\s*v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,9}){0,2}\s*$", re.IGNORECASE)
_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})(?:-(\d{2}))?\s*$")


def parse_version(text: object) -> Version | None:
    """major.minor of ``1.60``, ``1.60.03293.2680`` or ``v1.60``; None for anything else."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text)
    return Version(int(match.group(1)), int(match.group(2))) if match else None


def parse_release_date(text: str) -> datetime:
    """``YYYY-MM`` (first day of the month) or ``YYYY-MM-DD``, UTC; ValueError otherwise."""
    match = _MONTH.match(text)
    if match is None:
        raise ValueError(f"not YYYY-MM or YYYY-MM-DD: {text!r}")
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    return datetime(year, month, day, tzinfo=UTC)


def parse_table(text: str, issues: list[Issue], where: str) -> dict[Version, Release]:
    """Rows of a release CSV (``version`` and ``release_month`` or ``release_date``); bad rows are
    skipped and reported, ``#`` lines are comments."""
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    rows = list(csv.reader(line for _, line in numbered))
    header = [name.strip().lower() for name in rows[0]] if rows else []
    date_field = "release_month" if "release_month" in header else "release_date"
    if "version" not in header or date_field not in header:
        issues.append(
            Issue(
                f"release_table:{where}:header",
                Reason.MALFORMED_PAYLOAD,
                "release table needs the columns version and release_month (or release_date); ignored",
                (("file", where),),
            )
        )
        return {}
    out: dict[Version, Release] = {}
    for (number, _), values in zip(numbered[1:], rows[1:], strict=True):
        clean = dict(zip(header, (v.strip() for v in values), strict=False))
        version = parse_version(clean.get("version"))
        try:
            released = parse_release_date(clean.get(date_field, ""))
        except ValueError:
            released = None
        if version is None or released is None:
            issues.append(
                Issue(
                    f"release_table:{where}:{number}",
                    Reason.MALFORMED_PAYLOAD,
                    "release table row is not version,YYYY-MM[-DD]; skipped",
                    (("file", where), ("line", str(number))),
                )
            )
            continue
        out[version] = Release(version, released)
    return out


def packaged_text() -> str:
    return (resources.files("exporter.sources.arc_agents") / "parse_releases.csv").read_text(encoding="utf-8")


def build_table(packaged: str, user_text: str | None, user_name: str, issues: list[Issue]) -> ReleaseTable:
    rows = parse_table(packaged, issues, "packaged")
    custom = parse_table(user_text, issues, user_name) if user_text is not None else {}
    rows.update(custom)
    return ReleaseTable(tuple(rows[v] for v in sorted(rows)), custom_rows=len(custom))


def newest_version(candidates: Iterable[tuple[str, Version]]) -> Newest | None:
    """The highest version among (source, version) pairs; the more authoritative source wins ties."""
    best: Newest | None = None
    for source, version in candidates:
        if (
            best is None
            or version > best.version
            or (version == best.version and NEWEST_SOURCES.index(source) < NEWEST_SOURCES.index(best.source))
        ):
            best = Newest(version, source)
    return best


def versions_behind(version: Version, newest: Version, known: Iterable[Version]) -> int:
    """Minor versions between ``version`` and ``newest``; across majors, the known versions between."""
    if version >= newest:
        return 0
    if version.major == newest.major:
        return newest.minor - version.minor
    return len({v for v in known if version < v <= newest}) or 1


def assess(
    version: Version | None,
    table: ReleaseTable,
    newest: Version | None,
    known: Iterable[Version],
    at: datetime,
    expiring_within: timedelta,
) -> Assessment:
    """Support state of ``version`` at ``at`` (see the module docstring)."""
    if version is None:
        return Assessment(UNKNOWN)
    behind = versions_behind(version, newest, known) if newest is not None else None
    release = table.get(version)
    if release is None:
        table_newest = table.newest
        if table_newest is not None and version > table_newest:
            return Assessment(SUPPORTED, behind=behind)
        return Assessment(UNKNOWN, behind=behind)
    end = release.released + timedelta(days=SUPPORT_DAYS)
    state = UNSUPPORTED if at >= end else (EXPIRING if at >= end - expiring_within else SUPPORTED)
    return Assessment(state, release.released, end, behind)
