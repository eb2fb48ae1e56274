"""Scheduled Events (IMDS): parse every example payload and malformed variant, translate at scrape time.

Payloads live in tests/payloads/scheduled_events/: the reference examples (copied unchanged) plus
`imds-edge-*` (odd but parseable) and `imds-malformed-*` (rejected) variants. Fetch over real
sockets is tested against the simulator in tests/simulator/test_imds.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.errors import PayloadError, Reason
from exporter.core.source import FetchContext
from exporter.core.state import SourceState
from exporter.sources.scheduled_events import SPEC, Options
from exporter.sources.scheduled_events.fetch import report
from exporter.sources.scheduled_events.model import EVENT_STATUSES, EVENT_TYPES, Snapshot
from exporter.sources.scheduled_events.parse import DESCRIPTION_MAX, decode, parse, parse_not_before
from exporter.sources.scheduled_events.translate import translate
from tests.e2e.harness import require_binary

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "scheduled_events"
FETCHED = datetime(2026, 11, 21, 10, 10, tzinfo=UTC)

FREEZE_ID = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
FREEZE_DESCRIPTION = (
    "Virtual machine is being paused because of a memory-preserving Live Migration operation."
)
FREEZE_NOT_BEFORE = 1795256818.0  # Sat, 21 Nov 2026 10:26:58 GMT
PER_RESOURCE = (
    "azure_scheduled_event_info",
    "azure_scheduled_event_not_before_timestamp_seconds",
    "azure_scheduled_event_seconds_until_not_before",
)


def load(name: str, node: str | None = None) -> Snapshot:
    return parse(decode((PAYLOADS / name).read_bytes()), FETCHED, node)


class Scraped(Collector):
    """Translates at collect time with the (frozen) wall clock, like the exporter's collector."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from translate(self.snapshot, datetime.now(UTC))


def registry(snapshot: Snapshot) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(Scraped(snapshot))
    return reg


def samples(reg: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in reg.collect()
        for s in family.samples
        if s.name == name
    }


def context(previous: Snapshot | None = None) -> FetchContext[Options, Snapshot]:
    return FetchContext(
        source="scheduled_events",
        options=Options(),
        previous=previous,
        now=lambda: FETCHED,
        stats=AzureStats(),
        timeout=5.0,
    )


def counts(reg: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (dict(k)["event_type"], dict(k)["event_status"]): v
        for k, v in samples(reg, "azure_scheduled_events").items()
    }


def zero_counts() -> dict[tuple[str, str], float]:
    return {(t, s): 0.0 for t in EVENT_TYPES for s in EVENT_STATUSES}


# --- every payload ------------------------------------------------------------------------------


MALFORMED = {
    "imds-malformed-empty-body.body": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-whitespace-body.body": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-truncated.body": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-html.body": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-top-level-array.json": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-events-not-list.json": Reason.MALFORMED_PAYLOAD,
    "imds-malformed-no-events.json": Reason.MISSING_FIELD,
    # An IMDS error body delivered with 200 would be a document without Events.
    "imds-error-missing-api-version.json": Reason.MISSING_FIELD,
    "imds-error-missing-metadata-header.json": Reason.MISSING_FIELD,
    # The approval request body (POST), used by the simulator tests; never a document.
    "imds-scheduledevents-approve-request.json": Reason.MISSING_FIELD,
}
VALID = sorted(
    p.name
    for p in PAYLOADS.glob("imds-*.json")
    if not p.name.startswith(("imds-malformed", "imds-error")) and p.name not in MALFORMED
)


def test_every_payload_file_is_covered() -> None:
    on_disk = {p.name for p in PAYLOADS.iterdir()}
    assert on_disk == set(VALID) | set(MALFORMED)
    assert len(VALID) >= 9


@pytest.mark.parametrize("name", VALID)
def test_valid_payload_renders_consistent_series(name: str) -> None:
    snapshot = load(name)
    with freeze_time("2026-11-21T10:15:00Z"):
        reg = registry(snapshot)
        text = generate_latest(reg).decode()
        info = samples(reg, "azure_scheduled_event_info")
        until = samples(reg, "azure_scheduled_event_seconds_until_not_before")
        stamps = samples(reg, "azure_scheduled_event_not_before_timestamp_seconds")
    assert "azure_scheduled_events_document_incarnation" in text
    assert len(info) == sum(len(ev.resources) for ev in snapshot.events)
    # seconds_until exists exactly where the timestamp does, with the same labels.
    assert until.keys() == stamps.keys()
    for labels, stamp in stamps.items():
        assert until[labels] == pytest.approx(stamp - datetime(2026, 11, 21, 10, 15, tzinfo=UTC).timestamp())
    # Known type x status combinations are always there (alerts rely on them); totals add up.
    assert zero_counts().keys() <= counts(reg).keys()
    assert sum(counts(reg).values()) == len(snapshot.events)


@pytest.mark.parametrize(("name", "reason"), sorted(MALFORMED.items()))
def test_malformed_payload_fails_the_refresh(name: str, reason: Reason) -> None:
    with pytest.raises(PayloadError) as excinfo:
        load(name)
    assert excinfo.value.reason is reason


def test_exposition_passes_promtool_lint() -> None:
    promtool = require_binary("promtool")
    reg = registry(load("imds-edge-unknown-enum.json", node="aks-nodepool1-0"))
    with freeze_time("2026-11-21T10:15:00Z"):
        text = generate_latest(reg)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
    )
    # promtool prints lint findings (not errors) on stderr and exits 0 or 1; no finding is accepted.
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


# --- the reference examples, series by series -------------------------------------------------


def test_freeze_scheduled_exact_series() -> None:
    reg = registry(load("imds-scheduledevents-freeze.json"))
    with freeze_time("2026-11-21T10:15:00Z"):
        for vm in ("WestNO_0", "WestNO_1"):
            labels = {
                "event_id": FREEZE_ID,
                "event_type": "Freeze",
                "event_source": "Platform",
                "resource_type": "VirtualMachine",
                "resource": vm,
            }
            assert reg.get_sample_value("azure_scheduled_event_info", labels) == 1.0
            short = {"event_id": FREEZE_ID, "event_type": "Freeze", "resource": vm}
            value = reg.get_sample_value("azure_scheduled_event_not_before_timestamp_seconds", short)
            assert value == FREEZE_NOT_BEFORE
            assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", short) == 718.0
        assert len(samples(reg, "azure_scheduled_event_info")) == 2
        event = {"event_id": FREEZE_ID, "event_type": "Freeze"}
        # Status and description are per event, not per resource, and apart from the info.
        assert samples(reg, "azure_scheduled_event_status") == {
            tuple(sorted({**event, "event_status": "Scheduled"}.items())): 1.0,
            tuple(sorted({**event, "event_status": "Started"}.items())): 0.0,
        }
        assert (
            reg.get_sample_value(
                "azure_scheduled_event_description_info", {**event, "description": FREEZE_DESCRIPTION}
            )
            == 1.0
        )
        duration = {"event_id": FREEZE_ID, "event_type": "Freeze"}
        assert reg.get_sample_value("azure_scheduled_event_duration_seconds", duration) == 5.0
        assert reg.get_sample_value("azure_scheduled_events_document_incarnation") == 2.0
        assert counts(reg) == {**zero_counts(), ("Freeze", "Scheduled"): 1.0}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-21T10:11:58Z", 900.0),  # first seen with the documented 15 minutes notice
        ("2026-11-21T10:21:58Z", 300.0),
        ("2026-11-21T10:26:57.250000Z", 0.75),
        ("2026-11-21T10:26:58Z", 0.0),
        ("2026-11-21T10:27:28Z", -30.0),  # passed, not yet Started: negative
        ("2026-11-22T10:26:58Z", -86400.0),
    ],
)
def test_seconds_until_not_before_is_exact_at_scrape_time(now: str, expected: float) -> None:
    reg = registry(load("imds-scheduledevents-freeze.json"))
    labels = {"event_id": FREEZE_ID, "event_type": "Freeze", "resource": "WestNO_1"}
    with freeze_time(now):
        assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", labels) == expected
        # The stored timestamp does not move with the clock.
        stamp = reg.get_sample_value("azure_scheduled_event_not_before_timestamp_seconds", labels)
        assert stamp == FREEZE_NOT_BEFORE


def test_seconds_until_through_the_exporter_collector() -> None:
    # The real collector reads the clock once per scrape; the same snapshot gives a new value each time.
    state = SourceState(spec=SPEC, interval=1.0, timeout=160.0, options=Options())
    state.record_success(load("imds-scheduledevents-mixed.json"), FETCHED.timestamp(), 0.01, [])
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ExporterCollector([state], AzureStats()))
    preempt = {
        "event_id": "0B6F3E21-7C9D-4A55-B1E8-6D2C4F8A9E10",
        "event_type": "Preempt",
        "resource": "batch-spot-07",
    }
    with freeze_time("2026-11-21T10:36:00Z"):
        assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", preempt) == 30.0
    with freeze_time("2026-11-21T10:36:29Z"):
        assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", preempt) == 1.0
        assert reg.get_sample_value("azure_update_exporter_source_up", {"source": "scheduled_events"}) == 1.0


def test_freeze_started_has_no_not_before_series() -> None:
    reg = registry(load("imds-scheduledevents-freeze-started.json"))
    with freeze_time("2026-11-21T10:27:30Z"):
        assert samples(reg, "azure_scheduled_event_not_before_timestamp_seconds") == {}
        assert samples(reg, "azure_scheduled_event_seconds_until_not_before") == {}
        info = samples(reg, "azure_scheduled_event_info")
        assert {dict(k)["resource"] for k in info} == {"WestNO_0", "WestNO_1"}
        assert {dict(k)["event_id"] for k in info} == {FREEZE_ID}
        event = {"event_id": FREEZE_ID, "event_type": "Freeze"}
        # The same info series as while Scheduled; only the status family moved.
        assert "event_status" not in dict(next(iter(info)))
        assert (
            reg.get_sample_value("azure_scheduled_event_status", {**event, "event_status": "Started"}) == 1.0
        )
        assert (
            reg.get_sample_value("azure_scheduled_event_status", {**event, "event_status": "Scheduled"})
            == 0.0
        )
        duration = {"event_id": FREEZE_ID, "event_type": "Freeze"}
        assert reg.get_sample_value("azure_scheduled_event_duration_seconds", duration) == 5.0
        assert reg.get_sample_value("azure_scheduled_events_document_incarnation") == 3.0
        assert counts(reg) == {**zero_counts(), ("Freeze", "Started"): 1.0}


def test_mixed_every_type_scheduled_and_unknown_durations_absent() -> None:
    snapshot = load("imds-scheduledevents-mixed.json")
    assert snapshot.issues == ()
    reg = registry(snapshot)
    with freeze_time("2026-11-21T10:36:00Z"):
        assert samples(reg, "azure_scheduled_event_duration_seconds") == {}  # all -1
        stamps = {
            dict(k)["event_type"]: (dict(k)["resource"], v)
            for k, v in samples(reg, "azure_scheduled_event_not_before_timestamp_seconds").items()
        }
        until = {
            dict(k)["event_type"]: v
            for k, v in samples(reg, "azure_scheduled_event_seconds_until_not_before").items()
        }
        expected_counts = zero_counts()
        for event_type in ("Reboot", "Redeploy", "Preempt", "Terminate"):
            expected_counts[(event_type, "Scheduled")] = 1.0
        assert counts(reg) == expected_counts
        assert reg.get_sample_value("azure_scheduled_events_document_incarnation") == 7.0
    assert stamps == {
        "Reboot": ("web-vm-01", datetime(2026, 11, 21, 10, 50, 17, tzinfo=UTC).timestamp()),
        "Redeploy": ("web-vm-02", datetime(2026, 11, 29, 2, 0, tzinfo=UTC).timestamp()),
        "Preempt": ("batch-spot-07", datetime(2026, 11, 21, 10, 36, 30, tzinfo=UTC).timestamp()),
        "Terminate": ("myScaleSet_3", datetime(2026, 11, 21, 10, 41, tzinfo=UTC).timestamp()),
    }
    assert until == {"Reboot": 857.0, "Redeploy": 660240.0, "Preempt": 30.0, "Terminate": 300.0}
    sources = {
        dict(k)["event_type"]: dict(k)["event_source"] for k in samples(reg, "azure_scheduled_event_info")
    }
    assert sources == {"Reboot": "User", "Redeploy": "Platform", "Preempt": "Platform", "Terminate": "User"}


def test_empty_document_keeps_zero_counts_for_every_known_type() -> None:
    reg = registry(load("imds-scheduledevents-empty.json"))
    with freeze_time("2026-11-21T10:15:00Z"):
        assert counts(reg) == zero_counts()
        assert reg.get_sample_value("azure_scheduled_events_document_incarnation") == 1.0
        for name in (*PER_RESOURCE, "azure_scheduled_event_duration_seconds"):
            assert samples(reg, name) == {}


def test_one_series_per_resource_of_a_scale_set_event() -> None:
    # Host failure: a Reboot appears directly as Started (reference §3.2), for three instances.
    reg = registry(load("imds-edge-host-failure-started.json"))
    with freeze_time("2026-11-21T10:15:00Z"):
        info = samples(reg, "azure_scheduled_event_info")
        assert sorted(dict(k)["resource"] for k in info) == ["myScaleSet_0", "myScaleSet_1", "myScaleSet_2"]
        assert samples(reg, "azure_scheduled_event_seconds_until_not_before") == {}
        assert counts(reg)[("Reboot", "Started")] == 1.0  # one event, however many resources


# --- leniency -----------------------------------------------------------------------------------


def test_unknown_type_and_status_pass_through() -> None:
    snapshot = load("imds-edge-unknown-enum.json")
    reg = registry(snapshot)
    with freeze_time("2026-11-21T10:15:00Z"):
        got = counts(reg)
        labels = {
            "event_id": "A1B2C3D4-0000-4000-8000-00000000F00D",
            "event_type": "Hibernate",
            "resource": "web-vm-01",
        }
        assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", labels) == 1500.0
        duration = {"event_id": "A1B2C3D4-0000-4000-8000-00000000F00D", "event_type": "Hibernate"}
        assert reg.get_sample_value("azure_scheduled_event_duration_seconds", duration) == 30.0
    assert got[("Hibernate", "Acknowledged")] == 1.0
    assert got[("Hibernate", "Scheduled")] == 1.0
    assert got[("Hibernate", "Started")] == 0.0
    assert got[("Freeze", "Acknowledged")] == 0.0
    assert zero_counts().keys() <= got.keys()
    assert [(i.reason, dict(i.fields)) for i in snapshot.issues] == [
        (Reason.UNKNOWN_ENUM, {"event_type": "Hibernate"}),  # once per value, not per event
        (Reason.UNKNOWN_ENUM, {"event_status": "Acknowledged"}),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sat, 21 Nov 2026 10:26:58 GMT", datetime(2026, 11, 21, 10, 26, 58, tzinfo=UTC)),
        ("Mon, 21 Nov 2026 10:26:58 GMT", datetime(2026, 11, 21, 10, 26, 58, tzinfo=UTC)),  # wrong weekday
        ("21 Nov 2026 10:26:58 GMT", datetime(2026, 11, 21, 10, 26, 58, tzinfo=UTC)),
        ("Sat, 21 Nov 2026 11:26:58 +0100", datetime(2026, 11, 21, 10, 26, 58, tzinfo=UTC)),
        ("2026-11-21T10:26:58Z", datetime(2026, 11, 21, 10, 26, 58, tzinfo=UTC)),
        ("2026-11-21T10:26:58.5+00:00", datetime(2026, 11, 21, 10, 26, 58, 500000, tzinfo=UTC)),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_not_before_accepts(text: str, expected: datetime | None) -> None:
    assert parse_not_before(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sat, 21 Nov 2026 10:26:58",  # no zone: a guess
        "Sat, 31 Nov 2026 10:26:58 GMT",  # no such day
        "Sat, 21 Nov 26 10:26:58 GMT",  # two-digit year
        "Sat, 21 Nov 2026 10:26 GMT",
        "Sat, 21 Nov 2026 10:26:58 CET",
        "1795256818",
        "tomorrow",
        "2026-11-21",
    ],
)
def test_parse_not_before_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_not_before(text)


def test_not_before_formats_bad_input_is_counted_and_event_still_exposed() -> None:
    snapshot = load("imds-edge-not-before-formats.json")
    reg = registry(snapshot)
    with freeze_time("2026-11-21T10:20:00Z"):
        info = {dict(k)["resource"] for k in samples(reg, "azure_scheduled_event_info")}
        until = {
            dict(k)["resource"]: v
            for k, v in samples(reg, "azure_scheduled_event_seconds_until_not_before").items()
        }
    assert info == {
        "vm-bad-date",
        "vm-iso-date",
        "vm-wrong-weekday",
        "vm-no-zone",
        "vm-iso-fraction",
        "vm-nov-31",
    }
    assert until == {
        "vm-iso-date": 600.0,
        "vm-wrong-weekday": 900.0,
        "vm-iso-fraction": pytest.approx(990.123456),
    }
    bad = {dict(i.fields)["event_id"][:8] for i in snapshot.issues if i.reason is Reason.MALFORMED_PAYLOAD}
    assert bad == {"11111111", "44444444", "99999999"}
    assert all(i.key.startswith("not_before:") for i in snapshot.issues)


def test_missing_and_malformed_fields_are_lenient() -> None:
    snapshot = load("imds-edge-missing-fields.json")
    by_id = {ev.event_id: ev for ev in snapshot.events}
    assert list(by_id) == [
        "66666666-6666-4666-8666-666666666666",  # the duplicate later in the document is dropped
        "77777777-7777-4777-8777-777777777777",
        "88888888-8888-4888-8888-888888888888",
    ]
    first = by_id["66666666-6666-4666-8666-666666666666"]
    assert (first.event_status, first.resource_type, first.event_source, first.description) == (
        "",
        "",
        "",
        "",
    )
    assert first.duration_seconds is None  # "5" is not an integer
    assert first.resources == ("vm-a",)
    second = by_id["77777777-7777-4777-8777-777777777777"]
    assert second.resources == ("",)
    assert len(second.description) == DESCRIPTION_MAX
    assert second.description.endswith("…")
    third = by_id["88888888-8888-4888-8888-888888888888"]
    assert third.resources == ("vm-b", "vm-c")
    assert third.duration_seconds == 0  # 0 = no interruption, a real value
    assert sorted((i.reason.value, i.key.split(":")[0]) for i in snapshot.issues) == [
        ("malformed_payload", "duplicate"),
        ("malformed_payload", "duration"),
        ("malformed_payload", "event"),
        ("malformed_payload", "resources"),
        ("missing_field", "missing"),
        ("missing_field", "resources"),
    ]
    reg = registry(snapshot)
    with freeze_time("2026-11-21T10:20:00Z"):
        # The event that names no VM still reaches the alerts, with resource="".
        labels = {"event_id": "77777777-7777-4777-8777-777777777777", "event_type": "Reboot", "resource": ""}
        assert reg.get_sample_value("azure_scheduled_event_seconds_until_not_before", labels) == 1800.0
        assert counts(reg)[("Freeze", "")] == 1.0
        text = generate_latest(reg).decode()
    assert text.count("azure_scheduled_event_info{") == 4


def test_older_api_version_document_has_no_issues() -> None:
    # 2019-01-01 has no Description, EventSource or DurationInSeconds: optional, not missing.
    snapshot = load("imds-edge-api-2019-01-01.json")
    assert snapshot.issues == ()
    (event,) = snapshot.events
    assert (event.event_type, event.description, event.event_source, event.duration_seconds) == (
        "Terminate",
        "",
        "",
        None,
    )


def test_missing_incarnation_is_a_problem_not_a_failure() -> None:
    snapshot = parse({"Events": []}, FETCHED)
    assert snapshot.incarnation is None
    assert [i.reason for i in snapshot.issues] == [Reason.MISSING_FIELD]
    with freeze_time("2026-11-21T10:20:00Z"):
        assert registry(snapshot).get_sample_value("azure_scheduled_events_document_incarnation") is None


# --- node label ---------------------------------------------------------------------------------


def test_node_label_on_every_series_when_configured() -> None:
    reg = registry(load("imds-scheduledevents-mixed.json", node="aks-nodepool1-0"))
    with freeze_time("2026-11-21T10:15:00Z"):
        found = [s for family in reg.collect() for s in family.samples]
    assert found
    assert all(s.labels.get("node") == "aks-nodepool1-0" for s in found)


def test_no_node_label_when_not_configured() -> None:
    reg = registry(load("imds-scheduledevents-mixed.json"))
    with freeze_time("2026-11-21T10:15:00Z"):
        found = [s for family in reg.collect() for s in family.samples]
    assert found
    assert not any("node" in s.labels for s in found)


# --- problems are reported when they appear, not on every poll ----------------------------------


def test_problems_reported_once_per_appearance() -> None:
    first = load("imds-edge-not-before-formats.json")
    ctx = context(previous=None)
    report(first, None, ctx)
    assert [p.reason for p in ctx.problems] == [Reason.MALFORMED_PAYLOAD] * 3

    again = context(previous=first)
    report(load("imds-edge-not-before-formats.json"), first, again)
    assert again.problems == []  # the same bad events one second later: nothing new

    changed = context(previous=first)
    report(load("imds-edge-unknown-enum.json"), first, changed)
    assert [p.reason for p in changed.problems] == [Reason.UNKNOWN_ENUM, Reason.UNKNOWN_ENUM]


def test_spec_defaults() -> None:
    spec = SPEC
    options = Options()
    assert spec.name == "scheduled_events"
    assert spec.default_interval == 1.0
    assert not spec.needs_azure
    assert not spec.default_enabled
    # A refresh may take as long as the first IMDS call (connect + enabling read) without timing out.
    assert spec.default_timeout > options.first_request_timeout + options.request_timeout
    assert options.endpoint == "http://169.254.169.254"
    assert options.api_version == "2020-07-01"
