"""Azure Stack Hub / Azure Local updates: parse every example payload and edge variant, bound and
translate them. Fetch over real sockets is tested in tests/integration/test_azure_stack_updates.py.

Payloads live in tests/payloads/azure_stack_updates/: the reference examples copied unchanged
(``azurestack-*``, ``hci-*``, ``resourcegraph-hci-updateruns.json``) plus ``*-edge-*`` (odd but
parseable) and ``*-malformed-*`` (rejected) variants.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.core.errors import PayloadError, Reason, SourceError
from exporter.core.registry import all_specs
from exporter.core.source import Issue
from exporter.sources.azure_stack_updates import SPEC
from exporter.sources.azure_stack_updates.fetch import _unique_names
from exporter.sources.azure_stack_updates.fetch_hub import HubTarget, parse_targets
from exporter.sources.azure_stack_updates.model import (
    Run,
    Snapshot,
    Stamp,
    StampData,
    Update,
    build_data,
    exposed_runs,
    run_candidates,
)
from exporter.sources.azure_stack_updates.model_states import HUB, LOCAL
from exporter.sources.azure_stack_updates.parse import (
    cluster_id,
    id_segment,
    parse_location,
    parse_metadata,
    parse_run,
    parse_update,
    value_list,
)
from exporter.sources.azure_stack_updates.parse_pep import parse_update_status
from exporter.sources.azure_stack_updates.translate import translate
from tests.e2e.harness import require_binary

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "azure_stack_updates"
CLUSTER = (
    "/subscriptions/6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10/resourcegroups/rg-azlocal-ams01"
    "/providers/microsoft.azurestackhci/clusters/azl-ams01"
)
HUB_LOCATION = (
    "/subscriptions/2c4f1b6e-0d5a-4a7e-9b1c-8e3f5a6d7c20/resourcegroups/system.local"
    "/providers/microsoft.update.admin/updatelocations/local"
)
HUB_FAILED_RUN = "5173e9f4-3040-494f-b7a7-738a6331d55c"
HUB_RUNNING_RUN = "a6ad672e-097d-4d40-bc00-8d6ebe327246"
HCI_RUNNING_RUN = "8c2f4a1e-5b77-4e0d-9f3a-2d7c6b1e0a91"
HCI_FAILED_RUN = "1f0e7d3c-2a4b-4c8d-8e5f-6a7b8c9d0e1f"
SCRAPE = "2026-11-21T10:00:00Z"


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def updates(name: str, platform: str = HUB, issues: list[Issue] | None = None) -> list[Update]:
    issues = [] if issues is None else issues
    return [u for u in (parse_update(i, platform, issues) for i in value_list(load(name), name)) if u]


def runs(name: str, platform: str = HUB, issues: list[Issue] | None = None) -> list[Run]:
    issues = [] if issues is None else issues
    return [r for r in (parse_run(i, platform, issues) for i in value_list(load(name), name)) if r]


def hub_data() -> StampData:
    issues: list[Issue] = []
    location = parse_location(value_list(load("azurestack-update-locations.json"), "x")[0], HUB, issues)
    data = build_data(location, updates("azurestack-updates.json"), runs("azurestack-update-runs.json"), 5)
    assert issues == []
    return data


def local_data() -> StampData:
    issues: list[Issue] = []
    summary = parse_location(load("hci-update-summaries.json"), LOCAL, issues)
    data = build_data(summary, updates("hci-updates.json", LOCAL), runs("hci-update-runs.json", LOCAL), 5)
    assert issues == []
    return data


def snapshot() -> Snapshot:
    stamps = (
        Stamp(HUB, "local", "https://adminmanagement.local.azurestack.external", "https://adminmanagement.local.azurestack.external",
              "2021-07-01", hub_data(), True, 0, resource_id=HUB_LOCATION),
        Stamp(LOCAL, "azl-ams01", CLUSTER, "https://management.azure.com", "2025-10-01", local_data(), True,
              0, resource_id=CLUSTER),
        # Never reached: only the reachability series.
        Stamp(HUB, "adminmanagement.dark.contoso.com", "https://adminmanagement.dark.contoso.com",
              "https://adminmanagement.dark.contoso.com", "", None, False, 4),
    )  # fmt: skip
    return Snapshot(datetime(2026, 11, 21, 9, 59, tzinfo=UTC), stamps, ((HUB, 86400.0), (LOCAL, 43200.0)))


class Scraped(Collector):
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        yield from translate(self.snap, datetime.now(UTC))


def registry(snap: Snapshot) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(Scraped(snap))
    return reg


def samples(reg: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    with freeze_time(SCRAPE):
        return {
            tuple(sorted(s.labels.items())): s.value
            for family in reg.collect()
            for s in family.samples
            if s.name == name
        }


def value(reg: CollectorRegistry, name: str, **labels: str) -> float | None:
    with freeze_time(SCRAPE):
        return reg.get_sample_value(name, labels)


# --------------------------------------------------------------------------- reference examples


def test_every_payload_file_is_used_by_a_test() -> None:
    source = Path(__file__).read_text()
    unused = [p.name for p in PAYLOADS.iterdir() if p.name not in source]
    assert not unused


@pytest.mark.parametrize(
    ("name", "audience", "login"),
    [
        (
            "azurestack-metadata-endpoints-aad.json",
            "https://adminmanagement.contoso.onmicrosoft.com/4de154de-f8a8-4017-af41-df619da68155",
            "https://login.microsoftonline.com/",
        ),
        (
            "azurestack-metadata-endpoints-adfs.json",
            "https://adminmanagement.adfs.azurestack.local/5ba1e3f0-71d1-4f7a-9d2c-0e2e4a1b6c33",
            "https://adfs.local.azurestack.external/adfs",
        ),
    ],
)
def test_metadata_endpoints_give_audience_and_authority(name: str, audience: str, login: str) -> None:
    assert parse_metadata(load(name)) == (audience, login)


def test_metadata_without_audiences_is_rejected() -> None:
    with pytest.raises(PayloadError) as exc:
        parse_metadata(load("azurestack-malformed-metadata-no-audiences.json"))
    assert exc.value.reason is Reason.MISSING_FIELD


def test_update_location_2021_07_01() -> None:
    issues: list[Issue] = []
    [item] = value_list(load("azurestack-update-locations.json"), "updateLocations")
    location = parse_location(item, HUB, issues)
    assert (location.current_version, location.current_oem_version) == ("1.2406.1.23", "2.3.2406.4")
    assert location.state == "AppliedUpdateAvailableSuccessfully"
    assert location.last_updated == datetime(2026, 9, 2, 11, 48, 53, 102784, tzinfo=UTC)
    assert location.last_checked == datetime(2026, 11, 21, 6, 0, 12, 441987, tzinfo=UTC)
    assert issues == []


def test_update_location_2016_05_01_single_object() -> None:
    # A GET of one location (not a list) counts as a list of one.
    [item] = value_list(load("azurestack-update-location-2016-05-01.json"), "updateLocations")
    issues: list[Issue] = []
    location = parse_location(item, HUB, issues)
    assert (location.current_version, location.state, location.last_checked) == (
        "1.2406.1.23",
        "AppliedSuccessfully",
        None,
    )
    assert issues == []


def test_updates_2021_07_01_names_from_id_and_sentinel_dates() -> None:
    parsed = {u.name: u for u in updates("azurestack-updates.json")}
    assert list(parsed) == ["Microsoft1.2406.1.23", "Microsoft1.2408.0.19", "Microsoft1.2408.1.50"]
    assert parsed["Microsoft1.2406.1.23"].installed == datetime(2026, 9, 2, 11, 48, 53, 102784, tzinfo=UTC)
    # 9999-12-31T11:59:59.99999999Z means "not installed" (§1.5).
    assert parsed["Microsoft1.2408.0.19"].installed is None
    assert [(u.state, u.version, u.package_type) for u in parsed.values()] == [
        ("Installed", "1.2406.1.23", "Infrastructure"),
        ("Downloading", "1.2408.0.19", "Infrastructure"),
        ("HasPrerequisite", "1.2408.1.50", "Infrastructure"),
    ]


def test_hub_runs_failed_and_in_progress() -> None:
    parsed = {r.run_id: r for r in runs("azurestack-update-runs.json")}
    failed, running = parsed[HUB_FAILED_RUN], parsed[HUB_RUNNING_RUN]
    assert (failed.update, failed.state) == ("Microsoft1.2408.0.19", "Failed")
    # The failed root step has no endTimeUtc: start + duration, which is the failed leaf's end.
    assert failed.ended == datetime(2026, 11, 21, 1, 44, 58, 771001, tzinfo=UTC)
    assert failed.duration_seconds == pytest.approx(3 * 3600 + 44 * 60 + 54.7730011)
    assert failed.step_counts() == {"Success": 2, "Error": 1}
    assert failed.current_step() == ("Cloud Update", "Restart Storage Hosts", "Error")
    assert (running.state, running.ended, running.duration_seconds) == ("InProgress", None, None)
    assert running.started == datetime(2026, 11, 21, 8, 12, 44, 512000, tzinfo=UTC)
    assert running.step_counts() == {"Success": 1, "InProgress": 1}
    assert running.current_step() == ("Cloud Update", "Restart Storage Hosts", "InProgress")


def test_hub_example_resumed_run_supersedes_the_failed_one() -> None:
    data = hub_data()
    assert [r.run_id for r in data.runs] == [HUB_RUNNING_RUN]
    assert data.in_progress
    # No Succeeded run: the last success is the location's lastUpdated.
    assert data.last_success == datetime(2026, 9, 2, 11, 48, 53, 102784, tzinfo=UTC)


def test_local_summary_updates_and_runs() -> None:
    data = local_data()
    assert data.location is not None
    assert (data.location.current_version, data.location.current_oem_version, data.location.state) == (
        "10.2408.2.7",
        "4.1.2409.1",
        "UpdateAvailable",
    )
    assert [(u.name, u.state, u.installed is not None) for u in data.updates] == [
        ("Solution10.2411.0.24", "Ready", False),
        ("Solution10.2408.2.7", "Installed", True),
    ]
    parsed = {r.run_id: r for r in runs("hci-update-runs.json", LOCAL)}
    running, failed = parsed[HCI_RUNNING_RUN], parsed[HCI_FAILED_RUN]
    assert running.step_counts() == {"Success": 3, "InProgress": 1}
    assert running.current_step() == ("Install update", "Update node AZL-N02", "InProgress")
    assert failed.ended == datetime(2026, 11, 20, 23, 24, 9, 441773, tzinfo=UTC)
    assert failed.current_step() == ("Update health checks", "Update health checks", "Error")
    assert [r.run_id for r in data.runs] == [HCI_RUNNING_RUN]


def test_resource_graph_projected_run_row() -> None:
    body = load("resourcegraph-hci-updateruns.json")
    [row] = body["data"]
    issues: list[Issue] = []
    run = parse_run(row, LOCAL, issues)
    assert run is not None
    assert (run.update, run.run_id, run.state, run.progress) == (
        "Solution10.2411.0.24",
        HCI_RUNNING_RUN,
        "InProgress",
        None,
    )
    assert run.started == datetime(2026, 11, 21, 7, 0, 2, 115000, tzinfo=UTC)
    assert cluster_id(row["id"]) == CLUSTER == row["clusterId"]
    assert issues == []


def test_privileged_endpoint_status_xml_as_step_tree() -> None:
    root = parse_update_status((PAYLOADS / "azurestack-update-status.xml").read_text())
    assert (root.name, root.status) == ("Update", "InProgress")
    assert [(s.name, s.status) for s in root.steps] == [
        ("Pre-engine Update", "Success"),
        ("Cloud Update", "InProgress"),
    ]
    assert [s.name for s in root.steps[1].steps] == ["Restart Storage Hosts"]
    run = Run("Microsoft1.2408.0.19", "pep", "InProgress", None, None, None, root)
    assert run.current_step() == ("Cloud Update", "Restart Storage Hosts", "InProgress")
    assert run.step_counts() == {"Success": 1, "InProgress": 1}


@pytest.mark.parametrize(
    "name", ["azurestack-malformed-update-status-dtd.xml", "azurestack-malformed-update-status-truncated.xml"]
)
def test_privileged_endpoint_bad_xml_is_rejected(name: str) -> None:
    with pytest.raises(PayloadError):
        parse_update_status((PAYLOADS / name).read_text())


def test_list_whose_value_is_not_a_list_is_rejected() -> None:
    with pytest.raises(PayloadError):
        value_list(load("azurestack-malformed-value-not-list.json"), "updateLocations")


# --------------------------------------------------------------------------- edge variants


def test_unknown_location_state_passes_through_and_is_reported() -> None:
    issues: list[Issue] = []
    [item] = value_list(load("azurestack-edge-unknown-states.json"), "x")
    location = parse_location(item, HUB, issues)
    assert location.state == "MaintenanceModeEnabled"
    assert location.last_updated == datetime(2026, 11, 19, 3, 0, 0, 123456, tzinfo=UTC)
    assert [(i.reason, i.key) for i in issues] == [
        (Reason.UNKNOWN_ENUM, "hub_location_state:MaintenanceModeEnabled")
    ]


def test_early_2016_05_01_updates_are_lenient() -> None:
    issues: list[Issue] = []
    parsed = {u.name: u for u in updates("azurestack-edge-updates-2016-05-01-early.json", HUB, issues)}
    assert list(parsed) == [
        "Microsoft1.0.180302.1",
        "Microsoft1.0.180329.1",
        "Microsoft1.0.180410.3",
        "Microsoft1.0.180501.2",
    ]
    # `Failed` (earlier revision) is accepted quietly; version falls back to the name's digits.
    failed = parsed["Microsoft1.0.180329.1"]
    assert (failed.state, failed.version, failed.package_type, failed.installed) == (
        "Failed",
        "1.0.180329.1",
        "Combined",
        None,
    )
    assert parsed["Microsoft1.0.180410.3"].state == "PendingAcknowledgement"
    assert parsed["Microsoft1.0.180501.2"].state == "Unknown"
    assert sorted((i.reason.value, i.key.split(":")[0]) for i in issues) == [
        ("malformed_payload", "date"),
        ("missing_field", "missing"),
        ("missing_field", "update-id"),
        ("unknown_enum", "hub_update_state"),
    ]


def test_resumed_and_stale_runs_are_collapsed() -> None:
    issues: list[Issue] = []
    parsed = runs("azurestack-edge-runs-resumed.json", HUB, issues)
    assert len(parsed) == 4  # the run without an id is skipped
    by_id = {r.run_id[:8]: r for r in parsed}
    assert by_id["22222222"].ended == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert by_id["33333333"].ended == datetime(2026, 11, 2, 21, 30, 0, 500000, tzinfo=UTC)
    assert by_id["11111111"].duration_seconds is None  # running: the live value is used instead
    exposed = exposed_runs(parsed)
    assert [(r.run_id[:8], r.state) for r in exposed] == [
        ("33333333", "Succeeded"),
        ("44444444", "Cancelled"),
    ]
    data = build_data(None, [], parsed, 5)
    assert not data.in_progress
    assert data.last_success == by_id["33333333"].ended
    assert {i.reason for i in issues} == {Reason.UNKNOWN_ENUM, Reason.MISSING_FIELD}
    # A Skipped leaf passes through; the failed run's error step is found below it.
    assert by_id["22222222"].step_counts() == {"Error": 1, "Skipped": 1}


def test_runs_with_missing_fields() -> None:
    issues: list[Issue] = []
    parsed = {r.run_id[:8]: r for r in runs("azurestack-edge-runs-missing-fields.json", HUB, issues)}
    done = parsed["66666666"]
    assert (done.state, done.ended, done.duration_seconds, done.current_step()) == (
        "Succeeded",
        None,
        None,
        None,
    )
    assert parsed["77777777"].state == "Unknown"
    assert parsed["77777777"].progress is not None
    assert parsed["77777777"].progress.steps == ()
    assert parsed["88888888"].started is None
    assert sorted({i.reason.value for i in issues}) == ["malformed_payload", "missing_field"]


def test_local_summary_with_older_field_names() -> None:
    issues: list[Issue] = []
    summary = parse_location(load("hci-edge-summary-old-field-names.json"), LOCAL, issues)
    assert summary.current_oem_version == "4.1.2409.1"  # currentSbeVersion when no OEM version
    assert summary.last_updated == datetime(2026, 10, 4, 3, 12, 55, tzinfo=UTC)
    assert summary.last_checked == datetime(2026, 11, 21, 5, 41, 9, tzinfo=UTC)
    assert summary.state == "UpdateQueued"
    assert [i.reason for i in issues] == [Reason.UNKNOWN_ENUM]
    assert cluster_id(load("hci-edge-summary-old-field-names.json")["id"]) == CLUSTER  # ids lowercased


def test_id_segments_are_case_insensitive() -> None:
    rid = (
        "/subscriptions/s/RESOURCEGROUPS/System.local/providers/Microsoft.Update.Admin/UPDATELOCATIONS/local"
    )
    assert id_segment(rid, "updateLocations") == "local"
    assert id_segment(rid, "updates") is None
    assert id_segment(None, "updates") is None


# --------------------------------------------------------------------------- bounds


def _update(name: str, state: str) -> Update:
    return Update(name, name.removeprefix("Microsoft"), state, "Infrastructure", None)


def test_only_the_newest_updates_are_exposed() -> None:
    many = [_update(f"Microsoft1.24{i:02d}.0.1", "Installed") for i in range(1, 13)]
    data = build_data(None, many, [], max_updates=3)
    assert [u.name for u in data.updates] == [
        "Microsoft1.2412.0.1",
        "Microsoft1.2411.0.1",
        "Microsoft1.2410.0.1",
    ]


def test_runs_are_read_for_updates_that_may_have_run_installing_first() -> None:
    ups = [
        _update("Microsoft1.2401.0.1", "Installed"),
        _update("Microsoft1.2402.0.1", "Installed"),
        _update("Microsoft1.2403.0.1", "Installing"),
        _update("Microsoft1.2404.0.1", "Ready"),
        _update("Microsoft1.2405.0.1", "HasPrerequisite"),
        _update("Microsoft1.2406.0.1", "SomethingNew"),
    ]
    assert [u.name for u in run_candidates(ups, 3)] == [
        "Microsoft1.2403.0.1",
        "Microsoft1.2406.0.1",
        "Microsoft1.2402.0.1",
    ]


# --------------------------------------------------------------------------- translate


def test_translate_exact_series() -> None:
    reg = registry(snapshot())
    hub_labels = {"platform": "hub", "subscription_id": "2c4f1b6e-0d5a-4a7e-9b1c-8e3f5a6d7c20",
                  "resource_group": "system.local", "stamp": "local"}  # fmt: skip
    local_labels = {"platform": "local", "subscription_id": "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10",
                    "resource_group": "rg-azlocal-ams01", "stamp": "azl-ams01"}  # fmt: skip
    assert value(reg, "azure_stack_update_stamp_info", **hub_labels, resource_id=HUB_LOCATION) == 1.0
    assert value(reg, "azure_stack_update_stamp_info", **local_labels, resource_id=CLUSTER) == 1.0
    assert value(reg, "azure_stack_update_current_version", **hub_labels, version="1.2406.1.23",
                 oem_version="2.3.2406.4") == 1.0  # fmt: skip
    states = samples(reg, "azure_stack_update_location_state")
    hub_states = {dict(k)["state"]: v for k, v in states.items() if dict(k)["platform"] == "hub"}
    assert hub_states["AppliedUpdateAvailableSuccessfully"] == 1.0
    assert sum(hub_states.values()) == 1.0
    assert len(hub_states) == 9
    assert value(reg, "azure_stack_update_state", **hub_labels, update="Microsoft1.2408.0.19",
                 state="Downloading") == 1.0  # fmt: skip
    # Installed updates are history: counted per state, no state set of their own.
    assert value(reg, "azure_stack_update_state", **local_labels, update="Solution10.2408.2.7",
                 state="Installed") is None  # fmt: skip
    assert value(reg, "azure_stack_updates", **local_labels, state="Installed") == 1.0
    assert value(reg, "azure_stack_updates", **local_labels, state="Recalled") == 0.0
    run = {**hub_labels, "update": "Microsoft1.2408.0.19", "run_id": HUB_RUNNING_RUN}
    assert value(reg, "azure_stack_update_run_state", **run, state="InProgress") == 1.0
    assert value(reg, "azure_stack_update_run_state", **run, state="Failed") == 0.0
    # The superseded failed run is not exposed at all.
    assert not [k for k in samples(reg, "azure_stack_update_run_state") if ("run_id", HUB_FAILED_RUN) in k]
    assert value(reg, "azure_stack_update_run_start_timestamp_seconds", **run) == ts(
        "2026-11-21T08:12:44.512+00:00"
    )
    assert value(reg, "azure_stack_update_run_end_timestamp_seconds", **run) is None
    # Live: scrape time minus timeStarted.
    assert value(reg, "azure_stack_update_run_duration_seconds", **run) == pytest.approx(
        ts("2026-11-21T10:00:00+00:00") - ts("2026-11-21T08:12:44.512+00:00")
    )
    assert value(reg, "azure_stack_update_run_steps", **run, status="Success") == 1.0
    assert value(reg, "azure_stack_update_run_steps", **run, status="Error") == 0.0
    step_started = value(reg, "azure_stack_update_run_current_step_start_timestamp_seconds", **run,
                         phase="Cloud Update", step="Restart Storage Hosts")  # fmt: skip
    assert step_started == pytest.approx(ts("2026-11-21T09:20:01.0011029+00:00"))
    assert value(reg, "azure_stack_update_in_progress", **hub_labels) == 1.0
    assert value(reg, "azure_stack_update_last_success_timestamp_seconds", **hub_labels) == pytest.approx(
        ts("2026-09-02T11:48:53.102784+00:00")
    )
    assert value(reg, "azure_stack_update_installed_timestamp_seconds", **local_labels,
                 update="Solution10.2408.2.7") == ts("2026-10-04T03:12:55+00:00")  # fmt: skip
    assert value(reg, "azure_stack_update_info", **local_labels, update="Solution10.2411.0.24",
                 version="10.2411.0.24", package_type="Solution") == 1.0  # fmt: skip
    assert value(reg, "azure_stack_update_api_up", **hub_labels) == 1.0
    # Never reached: the Default Provider Subscription is unknown, so the identity labels are empty.
    dark = {
        "platform": "hub",
        "subscription_id": "",
        "resource_group": "",
        "stamp": "adminmanagement.dark.contoso.com",
    }
    assert value(reg, "azure_stack_update_api_up", **dark) == 0.0
    assert value(reg, "azure_stack_update_api_consecutive_failures", **dark) == 4.0
    assert value(reg, "azure_stack_update_in_progress", **dark) is None
    assert value(reg, "azure_stack_update_run_duration_limit_seconds", platform="local") == 43200.0
    assert value(reg, "azure_stack_update_api_info", **local_labels, endpoint="https://management.azure.com",
                 api_version="2025-10-01") == 1.0  # fmt: skip


def test_finished_run_duration_is_the_reported_one() -> None:
    parsed = runs("azurestack-edge-runs-resumed.json")
    data = build_data(None, [], parsed, 5)
    snap = Snapshot(datetime(2026, 11, 21, tzinfo=UTC), (Stamp(HUB, "x", "k", "e", "v", data, True, 0),), ())
    labels = {"platform": "hub", "subscription_id": "", "resource_group": "", "stamp": "x",
              "update": "Microsoft1.2408.0.19", "run_id": "33333333-3333-4333-8333-333333333333"}  # fmt: skip
    reg = registry(snap)
    assert value(reg, "azure_stack_update_run_duration_seconds", **labels) == 12 * 3600 + 30 * 60 + 0.5
    assert value(reg, "azure_stack_update_run_state", **labels, state="Succeeded") == 1.0
    unknown = {**labels, "update": "Microsoft1.2406.1.23", "run_id": "44444444-4444-4444-8444-444444444444"}
    assert value(reg, "azure_stack_update_run_state", **unknown, state="Cancelled") == 1.0
    assert value(reg, "azure_stack_update_run_state", **unknown, state="Failed") == 0.0


def test_running_duration_follows_the_scrape_clock() -> None:
    reg = registry(snapshot())
    run = {"platform": "local", "subscription_id": "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10",
           "resource_group": "rg-azlocal-ams01", "stamp": "azl-ams01", "update": "Solution10.2411.0.24",
           "run_id": HCI_RUNNING_RUN}  # fmt: skip
    first = value(reg, "azure_stack_update_run_duration_seconds", **run)
    with freeze_time(datetime(2026, 11, 21, 10, 0, tzinfo=UTC) + timedelta(minutes=5)):
        later = reg.get_sample_value("azure_stack_update_run_duration_seconds", run)
    assert first is not None
    assert later == pytest.approx(first + 300)


def test_exposition_passes_promtool_lint() -> None:
    promtool = require_binary("promtool")
    with freeze_time(SCRAPE):
        text = generate_latest(registry(snapshot()))
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


# --------------------------------------------------------------------------- options and spec


def test_hub_targets_with_and_without_names() -> None:
    assert parse_targets(["https://adminmanagement.redmond.contoso.com/", "East=https://h.example/x"]) == [
        HubTarget("https://adminmanagement.redmond.contoso.com", None),
        HubTarget("https://h.example/x", "east"),
    ]
    with pytest.raises(SourceError) as exc:
        parse_targets(["http://adminmanagement.redmond.contoso.com"])
    assert exc.value.reason is Reason.CONFIG  # the setting is wrong, not the request


def test_spec_registration_and_demo_config() -> None:
    spec = all_specs()["azure_stack_updates"]
    assert spec is SPEC
    assert (spec.default_enabled, spec.default_interval, spec.needs_azure) == (False, 120.0, True)
    assert spec.demo_config is not None
    demo = spec.demo_config({"base_url": "https://127.0.0.1:8443"})
    assert demo["hub_admin_endpoints"] == [
        "https://127.0.0.1:8443/azurestack/redmond",
        "https://127.0.0.1:8443/azurestack/seattle",
    ]
    assert demo["local_enabled"] is True


def test_clusters_of_one_name_in_two_resource_groups_keep_their_name() -> None:
    # The identity labels tell them apart; only Hub stamps of one region get an `@host` suffix.
    other = CLUSTER.replace("rg-azlocal-ams01", "rg-azlocal-dr")
    stamps = [
        Stamp(LOCAL, "azl-ams01", cid, "https://management.azure.com", "v", None, True, 0, resource_id=cid)
        for cid in (CLUSTER, other)
    ]
    hubs = [
        Stamp(HUB, "east", f"https://h{i}.example", f"https://h{i}.example", "v", None, True, 0)
        for i in (1, 2)
    ]
    assert [s.name for s in _unique_names([*stamps, *hubs])] == [
        "azl-ams01",
        "azl-ams01",
        "east",
        "east@h2.example",
    ]
    reg = registry(Snapshot(datetime(2026, 11, 21, tzinfo=UTC), tuple(stamps), ()))
    up = samples(reg, "azure_stack_update_api_up")
    assert {dict(k)["resource_group"] for k in up if dict(k)["platform"] == "local"} == {
        "rg-azlocal-ams01",
        "rg-azlocal-dr",
    }
