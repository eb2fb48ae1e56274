"""The update_manager source against the HTTPS simulator: real azure-identity and
azure-mgmt-resourcegraph, the real pager, scheduler and collector, no mocks."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from exporter.app import Exporter
from exporter.config import from_dict, merge
from exporter.core.errors import Reason
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, Simulator, start

SOURCE = "update_manager"
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
QUERIES = (
    "machines",
    "assessments",
    "installations",
    "maintenance_configurations",
    "configuration_assignments",
    "maintenance_runs",
)
# No start_time: the virtual clock starts at the real time, which the exporter's refresh time
# (next maintenance window, assessment freshness) is measured against.
SCENARIO: dict[str, Any] = {
    "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
    "resource_graph": {"quota_per_5s": 0},
    "update_manager": {
        "machines": [
            {
                "name": "sql-vm-01",
                "resource_group": "rg-sql",
                "patch_mode": "AutomaticByPlatform",
                "bypass": True,
                "assessment": {"status": "Succeeded", "age": 7200, "counts": {"critical": 2, "security": 3}},
            },
            {
                "name": "web-vm-01",
                "resource_group": "rg-web",
                "os": "Linux",
                "patch_mode": "AutomaticByPlatform",
                "bypass": True,
                "tags": {"patchgroup": "linux"},
                "assessment": {"status": "Succeeded", "age": 3 * 86400, "counts": {"security": 7}},
            },
            {
                "subscription": SUB_B,
                "name": "srv-arc-01",
                "resource_group": "rg-arc",
                "type": "arc",
                "patch_mode": "AutomaticByPlatform",
                "assessment": {"status": "Failed", "age": 600},
            },
            {
                "name": "old-vm-01",
                "resource_group": "rg-old",
                "patch_mode": "AutomaticByOS",
                "assessment_mode": "ImageDefault",
                "assessment": {"status": "Succeeded", "age": 8 * 86400},  # past the 7-day retention
            },
        ],
        "configurations": [
            {
                "name": "mc-sql-sunday",
                "start": "2026-01-04 02:00",
                "duration": "03:00",
                "time_zone": "W. Europe Standard Time",
                "recur_every": "Week Sunday",
            },
            {
                "name": "mc-linux-daily",
                "start": "2026-01-01 22:00",
                "duration": "02:00",
                "recur_every": "Day",
            },
        ],
        "assignments": [
            {"configuration": "mc-sql-sunday", "machines": ["sql-vm-01"]},
            {
                "configuration": "mc-linux-daily",
                "dynamic": {"os_types": ["Linux"], "tags": {"patchgroup": ["linux"]}},
            },
        ],
        "runs": [
            {
                "configuration": "mc-sql-sunday",
                "at": 60,
                "duration": 120,
                "outcome": "Failed",
                "failed": 1,
                "installed": 4,
            },
        ],
    },
}
SQL = {"subscription_id": SUB_A, "resource_group": "rg-sql", "machine": "sql-vm-01", "machine_type": "vm"}
ARC = {"subscription_id": SUB_B, "resource_group": "rg-arc", "machine": "srv-arc-01", "machine_type": "arc"}
OLD = {"subscription_id": SUB_A, "resource_group": "rg-old", "machine": "old-vm-01", "machine_type": "vm"}
MC = {"subscription_id": SUB_A, "resource_group": "rg-patching", "maintenance_configuration": "mc-sql-sunday"}


@pytest.fixture
def sim() -> Any:
    with start(SCENARIO) as simulator:
        yield simulator


def next_sunday_0200_berlin_end_after_now(hours: int) -> datetime:
    """Worked out day by day, independently of the source's rrule code."""
    berlin, now = ZoneInfo("Europe/Berlin"), datetime.now(UTC)
    day = now.astimezone(berlin).date() - timedelta(days=1)
    for _ in range(10):
        start = datetime.combine(day, dtime(2, 0), tzinfo=berlin).astimezone(UTC)
        if day.weekday() == 6 and start + timedelta(hours=hours) > now:
            return start
        day += timedelta(days=1)
    raise AssertionError("no Sunday within 10 days")


def sample(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def errors(exporter: Exporter, reason: Reason) -> float | None:
    return sample(exporter, "azure_update_exporter_source_errors_total", source=SOURCE, reason=reason.value)


def make(sim: Simulator, **overrides: Any) -> Exporter:
    raw = simulator_config(sim.info(), "127.0.0.1:0")
    raw["sources"] = {name: {"enabled": name == SOURCE} for name in raw["sources"]}
    return Exporter(from_dict(merge(raw, {"azure": {"retry_total": 0}, **overrides})))


def test_estate_through_the_real_sdk(sim: Simulator) -> None:
    exporter = make(sim)
    try:
        assert exporter.refresh_all_once() == {SOURCE: True}
        m = "azure_update_manager_machine_"
        assert sample(exporter, f"{m}orchestration_mode", **SQL, mode="customer_managed_schedules") == 1
        assert sample(exporter, f"{m}pending_patches", **SQL, classification="critical") == 2
        assert sample(exporter, f"{m}assessment_status", **ARC, status="Failed") == 1
        assert sample(exporter, f"{m}pending_patches", **ARC, classification="critical") is None
        assert sample(exporter, f"{m}misconfiguration", **ARC, problem="no_schedule_attached") == 1
        assert sample(exporter, f"{m}assessment_status", **OLD, status="NoRecentAssessment") == 1
        assert sample(exporter, f"{m}misconfiguration", **OLD, problem="assessment_not_periodic") == 1
        web = {**SQL, "resource_group": "rg-web", "machine": "web-vm-01"}
        assert (
            sample(
                exporter,
                f"{m}maintenance_configuration",
                **web,
                configuration_subscription_id=SUB_A,
                configuration_resource_group="rg-patching",
                maintenance_configuration="mc-linux-daily",
            )
            == 1
        )
        start_ts = sample(
            exporter, "azure_update_manager_maintenance_window_next_start_timestamp_seconds", **MC
        )
        assert start_ts == next_sunday_0200_berlin_end_after_now(hours=3).timestamp()
        assert sample(
            exporter, "azure_update_manager_maintenance_window_next_end_timestamp_seconds", **MC
        ) == (start_ts + 3 * 3600)
        assert sample(exporter, "azure_update_manager_maintenance_configuration_machines", **MC) == 1
        subs = {"subscription_id": SUB_A}
        assert (
            sample(
                exporter, "azure_update_manager_machines_by_assessment_freshness", **subs, freshness="stale"
            )
            == 1
        )
        assert (
            sample(
                exporter, "azure_update_manager_machines_by_assessment_freshness", **subs, freshness="none"
            )
            == 1
        )
        # Requests per refresh: one Resource Graph page per query, nothing per machine.
        assert sim.requests.count("resource_graph") == len(QUERIES)
        assert sim.requests.count("arm.*") == 0
        for query in QUERIES:
            assert (
                sample(exporter, "azure_update_exporter_update_manager_requests_last_refresh", query=query)
                == 1
            )
        assert all(errors(exporter, reason) == 0 for reason in Reason)

        sim.clock.advance(90)  # the maintenance run is in progress
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert sample(exporter, f"{m}installation_status", **SQL, status="InProgress") == 1
        assert sample(exporter, "azure_update_manager_maintenance_run_status", **MC, status="InProgress") == 1
        sim.clock.advance(120)  # it failed
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert sample(exporter, f"{m}installation_status", **SQL, status="Failed") == 1
        assert sample(exporter, f"{m}installation_patches", **SQL, result="failed") == 1
        assert sample(exporter, "azure_update_manager_maintenance_run_status", **MC, status="Failed") == 1
        assert sample(exporter, "azure_update_manager_maintenance_run_machines", **MC, status="Failed") == 1
    finally:
        exporter.stop()


def test_a_failing_query_keeps_its_previous_rows(sim: Simulator) -> None:
    exporter = make(sim)
    try:
        assert exporter.refresh_all_once() == {SOURCE: True}
        sim.faults.add(FaultRule("resource_graph", "status", status=500, count=1))  # the machines query
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert errors(exporter, Reason.SERVER_ERROR) == 1
        name = "azure_update_manager_machine_orchestration_mode"
        assert sample(exporter, name, **SQL, mode="customer_managed_schedules") == 1  # kept
        sim.faults.add(FaultRule("resource_graph", "status", status=403, count=len(QUERIES)))
        assert exporter.refresh_all_once() == {SOURCE: False}  # every query failed: the refresh fails
        assert sample(exporter, name, **SQL, mode="customer_managed_schedules") == 1  # last good snapshot
        assert exporter.refresh_all_once() == {SOURCE: True}
    finally:
        exporter.stop()


def test_the_quota_is_waited_for_not_hit(sim: Simulator) -> None:
    sim.state.section("resource_graph")["quota_per_5s"] = 4
    exporter = make(sim)
    try:
        started = time.monotonic()
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert time.monotonic() - started >= 1.0  # waited for the quota window to reset
        assert sim.requests.count("resource_graph", status=429) == 0
        assert errors(exporter, Reason.THROTTLED) == 0
    finally:
        exporter.stop()


def test_a_quota_reset_after_the_deadline_is_a_throttled_failure_not_a_wait(sim: Simulator) -> None:
    sim.state.section("resource_graph")["quota_per_5s"] = 2
    exporter = make(sim, sources={SOURCE: {"enabled": True, "timeout": "2s"}})
    try:
        started = time.monotonic()
        assert exporter.refresh_all_once() == {SOURCE: True}  # the first two queries answered
        assert time.monotonic() - started < 2.0  # no sleeping past the deadline
        assert errors(exporter, Reason.THROTTLED) == 4  # one per query that could not wait
        assert sim.requests.count("resource_graph", status=429) == 0
        assert sim.requests.count("resource_graph") == 2
        name = "azure_update_manager_machine_orchestration_mode"
        assert sample(exporter, name, **SQL, mode="customer_managed_schedules") == 1
    finally:
        exporter.stop()


def test_unknown_enum_values_pass_through_and_are_counted() -> None:
    odd = {
        **SCENARIO,
        "update_manager": {
            "machines": [
                {
                    "name": "odd-vm",
                    "resource_group": "rg-odd",
                    "patch_mode": "AutomaticByMagic",
                    "assessment": {"status": "Paused", "age": 60},
                },
            ]
        },
    }
    with start(odd) as simulator:
        exporter = make(simulator)
        try:
            assert exporter.refresh_all_once() == {SOURCE: True}
            labels = {**SQL, "resource_group": "rg-odd", "machine": "odd-vm"}
            m = "azure_update_manager_machine_"
            assert sample(exporter, f"{m}orchestration_mode", **labels, mode="AutomaticByMagic") == 1
            assert sample(exporter, f"{m}orchestration_mode", **labels, mode="manual") == 0
            assert sample(exporter, f"{m}assessment_status", **labels, status="Paused") == 1
            assert errors(exporter, Reason.UNKNOWN_ENUM) == 2
            assert exporter.refresh_all_once() == {SOURCE: True}
            assert errors(exporter, Reason.UNKNOWN_ENUM) == 2  # counted when they appear, not per refresh
        finally:
            exporter.stop()


@pytest.mark.slow
def test_requests_for_100k_vms_and_20k_arc_machines_are_resource_graph_pages_only() -> None:
    vms, arc = 100_000, 20_000
    estate = {
        "start_time": "2026-11-21T12:00:00+00:00",
        "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
        "resource_graph": {"quota_per_5s": 0},
        "update_manager": {"generate": {"vms": vms, "arc": arc}},
    }
    with start(estate) as big:
        exporter = make(big, sources={SOURCE: {"enabled": True, "aggregates_only": True, "timeout": "600s"}})
        try:
            started = time.monotonic()
            assert exporter.refresh_all_once() == {SOURCE: True}
            elapsed = time.monotonic() - started
        finally:
            exporter.stop()
        machines = vms + arc
        # Generated: every 20th machine has no assessment, every other one an installation; 1 config,
        # one dynamic assignment per subscription, no runs.
        rows = {
            "machines": machines,
            "assessments": machines - math.ceil((vms - 3) / 20) - math.ceil((arc - 3) / 20),
            "installations": math.ceil(vms / 2) + math.ceil(arc / 2),
            "maintenance_configurations": 1,
            "configuration_assignments": 2,
            "maintenance_runs": 0,
        }
        pages = {q: max(1, math.ceil(n / 1000)) for q, n in rows.items()}
        for query, expected in pages.items():
            got = sample(exporter, "azure_update_exporter_update_manager_requests_last_refresh", query=query)
            assert got == expected, query
        assert big.requests.count("resource_graph") == sum(pages.values())
        assert big.requests.count("arm.*") == 0
        total = sum(
            sample(exporter, "azure_update_manager_machines", subscription_id=sub, machine_type=t, mode=mode)
            or 0
            for sub in (SUB_A, SUB_B)
            for t in ("vm", "arc")
            for mode in (
                "customer_managed_schedules",
                "azure_managed_safe_deployment",
                "automatic_by_os",
                "manual",
            )
        )
        assert total == machines
        assert elapsed < 300, f"refresh of {machines} machines took {elapsed:.0f}s"
