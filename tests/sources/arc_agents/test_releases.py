"""The release table: the packaged copy agrees with the reference CSV, a user file extends and
overrides it, and support end and versions behind at several dates (frozen clocks), including a
version newer than the table."""

from __future__ import annotations

import csv
import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.sources.arc_agents.model import EXPIRING, SUPPORTED, UNKNOWN, UNSUPPORTED, Machine, Version
from exporter.sources.arc_agents.parse import Inputs, build_snapshot
from exporter.sources.arc_agents.parse_releases import (
    assess,
    build_table,
    packaged_text,
    parse_release_date,
    parse_table,
    parse_version,
)

ROOT = Path(__file__).resolve().parents[3]
VENDORED = ROOT / "tests/payloads/arc_agents/arc-agent-releases.csv"
WINDOW = timedelta(days=30)


def reference_csv() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "arc-agent-releases.csv"
        if candidate.is_file():
            return candidate
    return None


def table():
    issues: list[Issue] = []
    built = build_table(packaged_text(), None, "", issues)
    assert issues == []
    return built


def test_packaged_table_agrees_with_the_csv():
    rows = list(csv.DictReader(VENDORED.open(encoding="utf-8")))
    expected = {parse_version(r["version"]): parse_release_date(r["release_date"]) for r in rows}
    packaged = {r.version: r.released for r in table().releases}
    assert packaged == expected
    assert len(packaged) == 68
    assert min(packaged) == Version(1, 0)
    assert max(packaged) == Version(1, 67)
    assert packaged[Version(1, 67)] == datetime(2026, 8, 1, tzinfo=UTC)
    assert packaged[Version(1, 8)] == packaged[Version(1, 9)] == datetime(2021, 7, 1, tzinfo=UTC)


def test_packaged_table_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location(
        "generate_arc_releases", ROOT / "scripts/generate_arc_releases.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_arc_releases"] = module
    spec.loader.exec_module(module)
    assert module.generate(VENDORED.read_text(encoding="utf-8")) == packaged_text()
    assert module.main(["--check"]) == 0


def test_vendored_csv_is_the_reference_csv():
    reference = reference_csv()
    if reference is None:
        pytest.skip("reference material not present")
    assert VENDORED.read_bytes() == reference.read_bytes()


def test_user_file_adds_and_overrides_rows_and_bad_rows_are_reported():
    issues: list[Issue] = []
    user = "# site additions\nversion,release_date\n1.68,2026-09-15\n1.60,2026-01-20\n1.69,soon\nx,2026-10\n"
    built = build_table(packaged_text(), user, "site.csv", issues)
    assert built.newest == Version(1, 68)
    assert built.custom_rows == 2
    release = built.get(Version(1, 60))
    assert release is not None
    assert release.released == datetime(2026, 1, 20, tzinfo=UTC)
    assert [(i.reason, dict(i.fields)["line"]) for i in issues] == [
        (Reason.MALFORMED_PAYLOAD, "5"),
        (Reason.MALFORMED_PAYLOAD, "6"),
    ]


def test_user_file_without_the_columns_is_ignored():
    issues: list[Issue] = []
    assert parse_table("name,month\n1.68,2026-09\n", issues, "bad.csv") == {}
    assert [i.key for i in issues] == ["release_table:bad.csv:header"]


# (date, version, expected state, support end, versions behind the newest known = table's 1.67)
CASES = [
    ("2026-12-01T08:00:00+00:00", "1.60", SUPPORTED, datetime(2027, 1, 1, tzinfo=UTC), 7),
    ("2026-12-03T00:00:00+00:00", "1.60", EXPIRING, datetime(2027, 1, 1, tzinfo=UTC), 7),
    ("2027-01-01T00:00:00+00:00", "1.60", UNSUPPORTED, datetime(2027, 1, 1, tzinfo=UTC), 7),
    ("2026-08-31T23:59:59+00:00", "1.56", EXPIRING, datetime(2026, 9, 1, tzinfo=UTC), 11),
    ("2026-09-01T00:00:00+00:00", "1.56", UNSUPPORTED, datetime(2026, 9, 1, tzinfo=UTC), 11),
    ("2025-07-02T00:00:00+00:00", "1.44", UNSUPPORTED, datetime(2025, 7, 1, tzinfo=UTC), 23),
    ("2026-11-21T10:00:00+00:00", "1.67", SUPPORTED, datetime(2027, 8, 1, tzinfo=UTC), 0),
]


@pytest.mark.parametrize(("when", "version", "state", "end", "behind"), CASES)
def test_support_end_and_versions_behind_at_several_dates(
    when: str, version: str, state: str, end: datetime, behind: int
):
    with freeze_time(when):
        now = datetime.now(UTC)
        result = assess(parse_version(version), table(), Version(1, 67), (), now, WINDOW)
    assert (result.state, result.support_end, result.behind) == (state, end, behind)
    assert result.released == end - timedelta(days=365)


def test_1_44_support_end_is_its_release_month_plus_365_days():
    result = assess(Version(1, 44), table(), Version(1, 67), (), datetime(2025, 6, 1, tzinfo=UTC), WINDOW)
    assert result.released == datetime(2024, 7, 1, tzinfo=UTC)
    assert result.support_end == datetime(2025, 7, 1, tzinfo=UTC)
    assert result.state == EXPIRING


@pytest.mark.parametrize(
    "when", ["2026-09-01T00:00:00+00:00", "2027-06-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00"]
)
def test_a_version_newer_than_the_table_is_supported_with_unknown_release(when: str):
    with freeze_time(when):
        result = assess(Version(1, 70), table(), Version(1, 70), (), datetime.now(UTC), WINDOW)
    assert result.state == SUPPORTED
    assert result.released is None
    assert result.support_end is None
    assert result.behind == 0


def test_unknown_versions_are_unknown_never_age_zero_or_unsupported():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    assert assess(None, table(), Version(1, 67), (), at, WINDOW).state == UNKNOWN
    older = assess(Version(0, 9), table(), Version(1, 67), (), at, WINDOW)
    assert (older.state, older.released, older.support_end) == (UNKNOWN, None, None)


def test_versions_behind_across_a_major_counts_known_versions():
    known = {Version(1, 66), Version(1, 67), Version(2, 0), Version(2, 1)}
    result = assess(Version(1, 66), table(), Version(2, 1), known, datetime(2026, 9, 1, tzinfo=UTC), WINDOW)
    assert result.behind == 3


def machine(name: str, version: str) -> Machine:
    return Machine(
        subscription_id="sub",
        resource_group="rg",
        name=name,
        location="westeurope",
        kind="",
        os_type="linux",
        os_sku="",
        status="Connected",
        last_status_change=None,
        agent_build=version,
        version=parse_version(version),
        automatic_upgrade=False,
        desired_version="",
        last_attempt_status="",
        last_attempt_at=None,
        last_attempt_desired_version="",
    )


@freeze_time("2026-12-15T12:00:00+00:00")
def test_newest_known_comes_from_the_estate_when_it_is_ahead_of_the_table():
    now = datetime.now(UTC)
    inputs = Inputs(now, now, (machine("a", "1.60"), machine("b", "1.69.1.2")), table())
    snapshot = build_snapshot(inputs, None, WINDOW, True, frozenset())
    assert snapshot.newest is not None
    assert (snapshot.newest.version, snapshot.newest.source) == (Version(1, 69), "estate")
    a, b = snapshot.machines
    assert (a.assessment.state, a.assessment.behind) == (EXPIRING, 9)  # support ends 2027-01-01
    assert (b.assessment.state, b.assessment.behind, b.assessment.support_end) == (SUPPORTED, 0, None)


def test_the_table_wins_a_tie_and_external_sources_count():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    inputs = Inputs(at, at, (machine("a", "1.67"),), table(), external=(("advisor", Version(1, 67)),))
    snapshot = build_snapshot(inputs, None, WINDOW, True, frozenset())
    assert snapshot.newest is not None
    assert snapshot.newest.source == "table"
    ahead = Inputs(
        at, at, (machine("a", "1.67"),), table(), external=(("agent_versions_api", Version(1, 68)),)
    )
    newest = build_snapshot(ahead, None, WINDOW, True, frozenset()).newest
    assert newest is not None
    assert (newest.version, newest.source) == (Version(1, 68), "agent_versions_api")
