"""The Update Manager Resource Graph providers through the real ResourceGraphClient: the source's
six queries, paging, retention, runs on the virtual clock and scenario validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from exporter.simulator import Simulator, start
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.sources.update_manager import load
from exporter.sources.update_manager import fetch

SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SCENARIO: dict[str, Any] = {
    "subscriptions": [{"id": SUB}],
    "resource_graph": {"quota_per_5s": 0},
    "update_manager": {
        "machines": [
            {
                "name": "fresh-vm",
                "patch_mode": "AutomaticByPlatform",
                "bypass": True,
                "assessment": {"status": "Succeeded", "age": 60, "counts": {"critical": 1}},
                "installation": {"status": "Succeeded", "age": 86400, "installed": 2},
            },
            {
                "name": "old-vm",
                "os": "Linux",
                "assessment": {"status": "Succeeded", "age": 8 * 86400},
                "installation": {"status": "Failed", "age": 31 * 86400},
            },
            {
                "name": "failed-arc",
                "type": "arc",
                "assessment": {"status": "Failed", "age": 60, "counts": {"security": 4}},
            },
        ],
        "configurations": [
            {"name": "mc", "start": "2026-01-01 22:00", "duration": "02:00", "recur_every": "Day"}
        ],
        "assignments": [
            {"configuration": "mc", "machines": ["fresh-vm"]},
            {"configuration": "mc", "dynamic": {"os_types": ["Linux"]}},
        ],
        "runs": [{"configuration": "mc", "at": 100, "duration": 50, "outcome": "Failed", "failed": 1}],
        "generate": {"vms": 2500, "arc": 0},
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as running:
        yield running


def query(sim: Simulator, kql: str) -> tuple[list[dict[str, Any]], int]:
    client = ResourceGraphClient(
        sim.credential(),
        base_url=sim.base_url,
        credential_scopes=["https://management.azure.com/.default"],
        connection_verify=str(sim.ca_path),
        retry_total=0,
    )
    rows: list[dict[str, Any]] = []
    token, pages = None, 0
    while pages < 20:
        options = QueryRequestOptions(top=1000, skip_token=token, result_format="objectArray")
        page = client.resources(QueryRequest(subscriptions=[SUB], query=kql, options=options))
        rows += cast(list[dict[str, Any]], page.data)
        pages += 1
        token = page.skip_token
        if not token:
            break
    return rows, pages


def test_machines_page_by_1000_and_carry_patch_settings(sim: Simulator) -> None:
    rows, pages = query(sim, fetch.MACHINES)
    assert (len(rows), pages) == (2503, 3)
    assert [r["id"].lower() for r in rows] == sorted(r["id"].lower() for r in rows)
    fresh = next(r for r in rows if r["name"] == "fresh-vm")
    assert fresh["type"] == "microsoft.compute/virtualmachines"
    assert (fresh["patchMode"], fresh["bypassPlatformSafetyChecksOnUserSchedule"]) == (
        "AutomaticByPlatform",
        True,
    )
    arc = next(r for r in rows if r["name"] == "failed-arc")
    assert "/providers/Microsoft.HybridCompute/machines/" in arc["id"]
    assert arc["osType"] == "windows"  # Arc spells OS types in lower case


def test_assessments_respect_the_7_day_retention_and_failed_zeros(sim: Simulator) -> None:
    rows, _ = query(sim, fetch.ASSESSMENTS)
    names = {r["id"].split("/")[8] for r in rows}
    assert {"fresh-vm", "failed-arc"} <= names
    assert "old-vm" not in names
    failed = next(r for r in rows if "/failed-arc/" in r["id"])
    assert failed["status"] == "Failed"
    assert set(failed["availablePatchCountByClassification"].values()) == {0}
    assert failed["id"].endswith("/patchAssessmentResults/latest")


def test_installations_respect_the_30_day_retention(sim: Simulator) -> None:
    rows, _ = query(sim, fetch.INSTALLATIONS)
    names = {r["id"].split("/")[8] for r in rows}
    assert "fresh-vm" in names
    assert "old-vm" not in names


def test_configurations_and_assignments(sim: Simulator) -> None:
    configs, _ = query(sim, fetch.CONFIGURATIONS)
    assert sorted(c["name"] for c in configs) == ["mc", "mc-generated-weekly"]  # + the generated estate's
    [config] = [c for c in configs if c["name"] == "mc"]
    window = config["properties"]["maintenanceWindow"]
    assert (window["recurEvery"], window["duration"], window["expirationDateTime"]) == (
        "Day",
        "02:00",
        "9999-12-31 23:59",
    )
    assignments, _ = query(sim, fetch.ASSIGNMENTS)
    static = [a for a in assignments if "filter" not in a["properties"]]
    dynamic = [a for a in assignments if "filter" in a["properties"]]
    assert len(static) == 1
    assert len(dynamic) == 2  # ours and the generated estate's
    assert static[0]["properties"]["resourceId"].endswith("/virtualMachines/fresh-vm")
    assert sorted(tuple(a["properties"]["filter"]["osTypes"]) for a in dynamic) == [(), ("Linux",)]


def test_a_run_moves_on_the_virtual_clock(sim: Simulator) -> None:
    runs, _ = query(sim, fetch.RUNS)
    assert runs == []
    sim.clock.advance(120)
    [run], _ = query(sim, fetch.RUNS)
    assert (run["status"], run["machines"]) == ("InProgress", 1)
    installs, _ = query(sim, fetch.INSTALLATIONS)
    fresh = next(r for r in installs if "/fresh-vm/" in r["id"])
    assert fresh["status"] == "InProgress"
    sim.clock.advance(60)
    [run], _ = query(sim, fetch.RUNS)
    assert run["status"] == "Failed"
    installs, _ = query(sim, fetch.INSTALLATIONS)
    fresh = next(r for r in installs if "/fresh-vm/" in r["id"])
    assert (fresh["status"], fresh["failedPatchCount"]) == ("Failed", 1)
    assert fresh["maintenanceRunId"] == run["runId"]


def test_scenario_problems_are_listed_together() -> None:
    with pytest.raises(ScenarioError) as err:
        load(
            {
                "machines": [{"name": "x", "type": "vmss"}, {"nope": 1}],
                "assignments": [{"configuration": "missing"}],
                "extra": 1,
            },
            [SUB],
        )
    assert len(err.value.problems) == 4


def test_a_run_at_window_starts_when_the_configuration_s_window_opens() -> None:
    scenario = {
        "start_time": "2026-11-21T12:00:00+00:00",
        "subscriptions": [{"id": SUB}],
        "resource_graph": {"quota_per_5s": 0},
        "update_manager": {
            "machines": [{"name": "vm-1", "patch_mode": "AutomaticByPlatform", "bypass": True}],
            "configurations": [
                {
                    "name": "soon",
                    "start_in": 300,
                    "duration": "01:00",
                    "recur_every": "Day",
                    "time_zone": "W. Europe Standard Time",
                }
            ],
            "assignments": [{"configuration": "soon", "machines": ["vm-1"]}],
            "runs": [{"configuration": "soon", "at": "window", "duration": 60, "outcome": "Succeeded"}],
        },
    }
    with start(scenario) as sim:
        [config], _ = query(sim, fetch.CONFIGURATIONS)
        # 12:05 UTC is 13:05 in Berlin (CET), written as Azure writes it: local wall-clock time.
        assert config["properties"]["maintenanceWindow"]["startDateTime"] == "2026-11-21 13:05"
        sim.clock.advance(290)
        assert query(sim, fetch.RUNS)[0] == []
        sim.clock.advance(20)
        [run], _ = query(sim, fetch.RUNS)
        assert (run["status"], run["startDateTime"]) == ("InProgress", "2026-11-21T12:05:00.0000000Z")
        [install], _ = query(sim, fetch.INSTALLATIONS)
        assert (install["status"], install["maintenanceRunId"]) == ("InProgress", run["runId"])
        sim.clock.advance(60)
        [run], _ = query(sim, fetch.RUNS)
        assert run["status"] == "Completed"
