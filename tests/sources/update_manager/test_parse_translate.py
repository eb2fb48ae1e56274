"""update_manager: every Update Manager example payload parsed, the joins, orchestration mapping,
misconfigurations, failed-assessment handling, unknown enums and the exposition.

Payloads in tests/payloads/update_manager/ are the reference examples, copied unchanged.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.sources.update_manager import parse
from exporter.sources.update_manager.fetch_combine import (
    configuration_states,
    machine_states,
    orchestration_mode,
    subscription_totals,
)
from exporter.sources.update_manager.model import (
    ASSESSMENT_NOT_PERIODIC,
    NO_SCHEDULE,
    PREREQUISITES_NOT_MET,
    Snapshot,
    Tables,
)
from exporter.sources.update_manager.translate import translate

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "update_manager"
# Beside the repository (../shared) in CI; a worktree under /work/wt has it two levels further up.
_ROOT = Path(__file__).resolve().parents[3]
REFERENCE = next(
    (
        p / "shared" / "reference" / "examples"
        for p in (_ROOT.parent, _ROOT.parent.parent)
        if (p / "shared").is_dir()
    ),
    _ROOT.parent / "shared" / "reference" / "examples",
)
SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SQL = f"/subscriptions/{SUB}/resourcegroups/rg-sql/providers/microsoft.compute/virtualmachines/sql-vm-01"
WEB = f"/subscriptions/{SUB}/resourcegroups/rg-web-prod/providers/microsoft.compute/virtualmachines/web-vm-01"
ARC_SQL = (
    f"/subscriptions/{SUB}/resourcegroups/rg-arc-onprem/providers/microsoft.hybridcompute/machines/srv-sql-01"
)
MC_SQL = (
    f"/subscriptions/{SUB}/resourcegroups/rg-patching/providers/"
    "microsoft.maintenance/maintenanceconfigurations/mc-sql-sunday"
)


def rows(name: str) -> list[dict[str, Any]]:
    body = json.loads((PAYLOADS / name).read_text())
    return body.get("data", [body])


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda p: p.name)
def test_payloads_are_the_reference_examples(path: Path) -> None:
    original = REFERENCE / path.name
    if not original.exists():
        pytest.skip("reference examples not beside the repository")
    assert json.loads(path.read_text()) == json.loads(original.read_text())


def test_assessments_example() -> None:
    issues: list[Issue] = []
    found = {
        a.machine_id: a for a in parse.parse_assessments(rows("resourcegraph-patchassessment.json"), issues)
    }
    assert not issues
    assert set(found) == {SQL, WEB, ARC_SQL}
    linux = dict(found[WEB].counts)
    assert (linux["critical"], linux["security"], linux["other"], linux["updates"]) == (0, 7, 23, 0)
    assert found[WEB].os_type == "Linux"
    assert found[WEB].started_by == "Platform"
    assert found[SQL].reboot_pending is True
    assert found[SQL].last_modified == datetime(2026, 11, 20, 22, 19, 41, 557001, tzinfo=UTC)
    assert found[ARC_SQL].status == "Failed"


def test_software_patch_rows_are_not_assessments() -> None:
    issues: list[Issue] = []
    assert parse.parse_assessments(rows("resourcegraph-softwarepatches.json"), issues) == ()
    assert not issues


def test_installations_example() -> None:
    issues: list[Issue] = []
    found = {
        i.machine_id: i
        for i in parse.parse_installations(rows("resourcegraph-patchinstallation.json"), issues)
    }
    assert not issues
    sql = found[SQL]
    assert sql.status == "CompletedWithWarnings"
    assert sql.reboot_status == "Required"
    assert dict(sql.counts) == {"installed": 5, "failed": 1, "pending": 0, "excluded": 1, "not_selected": 3}
    assert sql.maintenance_run_id.endswith(
        "mc-sql-sunday/providers/microsoft.maintenance/applyupdates/20261115020000"
    )
    arc = found[ARC_SQL.replace("srv-sql-01", "srv-web-07")]
    assert arc.status == "Failed"
    assert arc.window_exceeded is True


def test_patch_settings_example_and_orchestration_mapping() -> None:
    issues: list[Issue] = []
    machines = {m.name: m for m in parse.parse_machines(rows("resourcegraph-vm-patchsettings.json"), issues)}
    assert not issues
    assert orchestration_mode(machines["sql-vm-01"]) == "customer_managed_schedules"
    assert orchestration_mode(machines["web-vm-01"]) == "manual"  # Linux ImageDefault
    assert orchestration_mode(machines["app-vm-03"]) == "automatic_by_os"
    safe = replace(machines["sql-vm-01"], bypass_platform_safety_checks=False)
    assert orchestration_mode(safe) == "azure_managed_safe_deployment"
    assert orchestration_mode(replace(machines["sql-vm-01"], bypass_platform_safety_checks=None)) == (
        "azure_managed_safe_deployment"
    )
    windows_default = replace(machines["app-vm-03"], patch_mode=None)
    assert orchestration_mode(windows_default) == "automatic_by_os"
    assert orchestration_mode(replace(windows_default, automatic_updates=False)) == "manual"


def test_full_arc_resource_reads_its_patch_settings() -> None:
    issues: list[Issue] = []
    [arc] = parse.parse_machines(rows("hybridcompute-machine.json"), issues)
    assert not issues
    assert (arc.machine_type, arc.os_type, arc.patch_mode, arc.assessment_mode) == (
        "arc",
        "Windows",
        "AutomaticByPlatform",
        "AutomaticByPlatform",
    )
    assert arc.tags == (("env", "prod"),)
    assert orchestration_mode(arc) == "customer_managed_schedules"  # Arc has no bypass flag


def test_assignments_and_runs_examples() -> None:
    issues: list[Issue] = []
    static, dynamic = parse.parse_assignments(
        rows("resourcegraph-maintenance-configurationassignments.json"), issues
    )
    assert (static.resource_id, static.configuration_id, static.scope) == (SQL, MC_SQL, None)
    assert dynamic.scope is not None
    assert dynamic.resource_id == f"/subscriptions/{SUB}"
    assert dynamic.scope.os_types == ("linux",)
    assert dynamic.scope.tags == (("patchgroup", ("linux-weekly",)),)
    [run] = parse.parse_runs(rows("resourcegraph-maintenance-applyupdates.json"), issues)
    assert (run.configuration_id, run.status, run.machines) == (MC_SQL, "Completed", 1)
    assert run.started_at == datetime(2026, 11, 15, 2, tzinfo=UTC)
    assert not issues


def test_maintenance_configuration_example() -> None:
    issues: list[Issue] = []
    [config] = parse.parse_configurations(rows("maintenance-configuration.json"), issues)
    assert not issues
    assert (config.name, config.time_zone, config.recur_every, config.reboot_setting) == (
        "configuration1",
        "Pacific Standard Time",
        "5Days",
        "Always",
    )
    assert config.window is not None
    assert config.window.duration == timedelta(hours=5)
    [state] = configuration_states(Tables(configurations=(config,)), (), NOW)
    assert state.next_window is not None
    assert not state.expired
    assert state.next_window.start > NOW - timedelta(hours=5)


def test_bad_values_drop_the_field_and_unknown_enums_pass_through() -> None:
    row = {
        **rows("resourcegraph-vm-patchsettings.json")[0],
        "patchMode": "AutomaticByMagic",
        "enableHotpatching": 3,
    }
    issues: list[Issue] = []
    [machine] = parse.parse_machines([row, {"id": "not-an-id"}, "junk"], issues)
    assert machine.patch_mode == "AutomaticByMagic"
    assert machine.hotpatching is None
    assert orchestration_mode(machine) == "AutomaticByMagic"
    reasons = sorted(i.reason for i in issues)
    assert reasons == [Reason.MALFORMED_PAYLOAD, Reason.MALFORMED_PAYLOAD, Reason.UNKNOWN_ENUM]
    bad_window = {**rows("maintenance-configuration.json")[0]}
    bad_window["properties"] = {
        **bad_window["properties"],
        "maintenanceWindow": {**bad_window["properties"]["maintenanceWindow"], "recurEvery": "Fortnightly"},
    }
    [config] = parse.parse_configurations([bad_window], issues)
    assert config.window is None
    assert issues[-1].key.endswith("|window")


def _tables() -> Tables:
    issues: list[Issue] = []
    vms = parse.parse_machines(rows("resourcegraph-vm-patchsettings.json"), issues)
    arc = parse.parse_machines(rows("hybridcompute-machine.json"), issues)
    mc = replace(
        parse.parse_configurations(rows("maintenance-configuration.json"), issues)[0],
        id=MC_SQL,
        resource_group="rg-patching",
        name="mc-sql-sunday",
        subscription_id=SUB,
    )
    return Tables(
        machines=vms + arc,
        assessments=parse.parse_assessments(rows("resourcegraph-patchassessment.json"), issues),
        installations=parse.parse_installations(rows("resourcegraph-patchinstallation.json"), issues),
        configurations=(mc,),
        assignments=parse.parse_assignments(
            rows("resourcegraph-maintenance-configurationassignments.json"), issues
        ),
        runs=parse.parse_runs(rows("resourcegraph-maintenance-applyupdates.json"), issues),
    )


def snapshot(tables: Tables, per_machine: bool = True) -> Snapshot:
    machines = machine_states(tables)
    return Snapshot(
        tables=tables,
        machines=machines,
        configurations=configuration_states(tables, machines, NOW),
        subscriptions=subscription_totals(machines, NOW, timedelta(days=2)),
        computed_at=NOW,
        pages=(("machines", 1),),
        per_machine=per_machine,
    )


def exposition(snap: Snapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    class Source(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return translate(snap, NOW)

    registry = CollectorRegistry()
    registry.register(Source())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in registry.collect() for s in f.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def ids(name: str, rg: str, kind: str = "vm") -> dict[str, str]:
    return {"subscription_id": SUB, "resource_group": rg, "machine": name, "machine_type": kind}


def test_joined_estate_exposition() -> None:
    samples = exposition(snapshot(_tables()))
    sql, web, arc = (
        ids("sql-vm-01", "rg-sql"),
        ids("web-vm-01", "rg-web-prod"),
        ids("srv-sql-01", "rg-arc-onprem", "arc"),
    )
    app = ids("app-vm-03", "rg-legacy")
    m = "azure_update_manager_machine_"
    assert value(samples, f"{m}orchestration_mode", **sql, mode="customer_managed_schedules") == 1
    assert value(samples, f"{m}pending_patches", **sql, classification="security") == 3
    assert value(samples, f"{m}hotpatching_enabled", **sql) == 0
    assert value(samples, f"{m}hotpatching_enabled", **web) is None  # not reported
    assert value(samples, f"{m}pending_patches", **web, classification="security") == 7
    assert value(samples, f"{m}pending_patches", **web, classification="updates") is None  # Linux: 3 only
    # The failed Arc assessment carries zeros: no pending-patch series at all, status Failed.
    assert value(samples, f"{m}pending_patches", **arc, classification="critical") is None
    assert value(samples, f"{m}assessment_status", **arc, status="Failed") == 1
    assert value(samples, f"{m}assessment_status", **app, status="NoRecentAssessment") == 1
    assert value(samples, f"{m}installation_status", **sql, status="CompletedWithWarnings") == 1
    assert value(samples, f"{m}installation_patches", **sql, result="failed") == 1
    assert (
        value(samples, f"{m}installation_end_timestamp_seconds", **sql)
        == datetime(2026, 11, 15, 2, 48, 9, 992130, tzinfo=UTC).timestamp()
    )
    assert (
        value(
            samples,
            f"{m}maintenance_configuration",
            **sql,
            configuration_subscription_id=SUB,
            configuration_resource_group="rg-patching",
            maintenance_configuration="mc-sql-sunday",
        )
        == 1
    )
    # Arc srv-sql-01: AutomaticByPlatform with no schedule attached: nothing will ever patch it.
    assert value(samples, f"{m}misconfiguration", **arc, problem=NO_SCHEDULE) == 1
    assert value(samples, f"{m}misconfiguration", **app, problem=ASSESSMENT_NOT_PERIODIC) == 1
    assert value(samples, f"{m}misconfiguration", **sql, problem=NO_SCHEDULE) is None
    c = {
        "subscription_id": SUB,
        "resource_group": "rg-patching",
        "maintenance_configuration": "mc-sql-sunday",
    }
    assert value(samples, "azure_update_manager_maintenance_configuration_machines", **c) == 1
    assert value(samples, "azure_update_manager_maintenance_run_status", **c, status="Completed") == 1
    assert (
        value(samples, "azure_update_manager_maintenance_window_next_start_timestamp_seconds", **c)
        is not None
    )
    s = {"subscription_id": SUB}
    assert value(samples, "azure_update_manager_machines", **s, machine_type="vm", mode="manual") == 1
    assert (
        value(
            samples,
            "azure_update_manager_machines",
            **s,
            machine_type="arc",
            mode="customer_managed_schedules",
        )
        == 1
    )
    assert value(samples, "azure_update_manager_machines_by_assessment_freshness", **s, freshness="none") == 1
    assert (
        value(samples, "azure_update_manager_machines_by_assessment_freshness", **s, freshness="failed") == 1
    )
    assert (
        value(samples, "azure_update_manager_machines_by_assessment_freshness", **s, freshness="recent") == 2
    )
    assert value(samples, "azure_update_manager_pending_patches", **s, classification="security") == 10
    assert value(samples, "azure_update_manager_misconfigured_machines", **s, problem=NO_SCHEDULE) == 1


def test_schedule_on_a_vm_without_bypass_is_prerequisites_not_met() -> None:
    tables = _tables()
    machines = tuple(
        replace(m, bypass_platform_safety_checks=False) if m.name == "sql-vm-01" else m
        for m in tables.machines
    )
    [sql] = [s for s in machine_states(replace(tables, machines=machines)) if s.machine.name == "sql-vm-01"]
    assert sql.orchestration_mode == "azure_managed_safe_deployment"
    assert sql.problems == (PREREQUISITES_NOT_MET,)


def test_dynamic_scope_covers_matching_machines_only() -> None:
    tables = _tables()
    tagged = replace(tables.machines[1], tags=(("patchgroup", "linux-weekly"),))  # web-vm-01, Linux
    config = replace(
        tables.configurations[0],
        id=MC_SQL.replace("mc-sql-sunday", "mc-linux-weekly"),
        name="mc-linux-weekly",
    )
    tables = replace(
        tables,
        machines=(tables.machines[0], tagged, *tables.machines[2:]),
        configurations=(*tables.configurations, config),
    )
    states = {s.machine.name: s for s in machine_states(tables)}
    assert states["web-vm-01"].schedules == (config.id,)
    assert states["app-vm-03"].schedules == ()  # Windows, untagged
    assert states["sql-vm-01"].schedules == (MC_SQL,)


def test_aggregates_only_has_no_per_machine_series() -> None:
    samples = exposition(snapshot(_tables(), per_machine=False))
    assert not [k for k in samples if k[0].startswith("azure_update_manager_machine_")]
    assert (
        value(samples, "azure_update_manager_machines", subscription_id=SUB, machine_type="vm", mode="manual")
        == 1
    )


def test_exposition_is_valid_text() -> None:
    snap = snapshot(_tables())

    class Source(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return translate(snap, NOW)

    registry = CollectorRegistry()
    registry.register(Source())
    text = generate_latest(registry).decode()
    assert "# TYPE azure_update_manager_machine_orchestration_mode gauge" in text
