"""Arc machines: parse the reference payloads (Resource Graph rows, the ARM machine body projected as
our KQL does, agentVersions) and every kind of bad input, which drops a field, never a machine.

Payloads live in tests/payloads/arc_agents/: the reference examples copied unchanged (a test checks
they still match ../shared/reference/examples when it is there).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exporter.core.errors import Reason
from exporter.sources.arc_agents.model import MISSING_STATUS, Version
from exporter.sources.arc_agents.parse import (
    Problems,
    parse_advisor,
    parse_agent_versions,
    parse_machine,
    parse_machines,
    query_time,
)

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "arc_agents"
SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
EXAMPLES = (
    "hybridcompute-machine.json",
    "hybridcompute-agentversions.json",
    "resourcegraph-arc-machines.json",
)


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def reference_dir() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference"
        if candidate.is_dir():
            return candidate
    return None


@pytest.mark.parametrize("name", EXAMPLES)
def test_payloads_are_the_reference_examples(name: str):
    reference = reference_dir()
    if reference is None:
        pytest.skip("reference material not present")
    assert (PAYLOADS / name).read_bytes() == (reference / "examples" / name).read_bytes()


def project(machine: dict[str, Any]) -> dict[str, Any]:
    """The ARM machine body as the source's KQL projection returns it (fetch.MACHINES_QUERY)."""
    p, upgrade = machine["properties"], machine["properties"].get("agentUpgrade") or {}
    sub, rg = machine["id"].split("/")[2], machine["id"].split("/")[4]
    return {
        "id": machine["id"],
        "name": machine["name"],
        "subscriptionId": sub,
        "resourceGroup": rg,
        "location": machine["location"],
        "kind": machine["kind"] or "",
        "status": p.get("status"),
        "lastStatusChange": p.get("lastStatusChange"),
        "agentVersion": p.get("agentVersion"),
        "osType": p.get("osType"),
        "osSku": p.get("osSku"),
        "enableAutomaticUpgrade": upgrade.get("enableAutomaticUpgrade"),
        "desiredVersion": upgrade.get("desiredVersion"),
        "lastAttemptStatus": upgrade.get("lastAttemptStatus"),
        "lastAttemptTimestamp": upgrade.get("lastAttemptTimestamp"),
        "lastAttemptDesiredVersion": upgrade.get("lastAttemptDesiredVersion"),
    }


def test_resource_graph_example_rows():
    problems = Problems()
    machines = parse_machines(load("resourcegraph-arc-machines.json")["data"], problems)
    assert problems.issues() == []
    assert [m.name for m in machines] == ["srv-old-02", "srv-sql-01", "srv-web-07"]
    old, sql, web = machines
    assert (sql.subscription_id, sql.resource_group, sql.location) == (SUB, "rg-arc-onprem", "westeurope")
    assert (sql.agent_build, sql.version, sql.os_type) == ("1.60.03293.2680", Version(1, 60), "windows")
    assert sql.status == "Connected"
    assert sql.last_status_change == datetime(2026, 11, 21, 9, 12, 41, 291123, tzinfo=UTC)
    assert sql.automatic_upgrade is True
    assert (sql.desired_version, sql.last_attempt_desired_version) == ("1.61", "1.61")
    assert sql.last_attempt_status == "Failed"
    assert sql.last_attempt_at == datetime(2026, 11, 19, 2, 14, 7, tzinfo=UTC)
    # Nulls for a machine without agentUpgrade: automatic upgrade is simply not on.
    assert (web.status, web.version, web.automatic_upgrade, web.last_attempt_status) == (
        "Disconnected",
        Version(1, 44),
        False,
        "",
    )
    assert web.last_attempt_at is None
    assert (old.status, old.version, old.os_sku) == (
        "Expired",
        Version(1, 38),
        "Windows Server 2016 Standard",
    )


def test_arm_machine_body_projected_matches_the_resource_graph_row():
    problems = Problems()
    from_arm = parse_machine(project(load("hybridcompute-machine.json")), problems)
    rows = load("resourcegraph-arc-machines.json")["data"]
    from_graph = parse_machine(next(r for r in rows if r["name"] == "srv-sql-01"), problems)
    assert problems.issues() == []
    assert from_arm == from_graph


def test_agent_versions_example():
    problems = Problems()
    assert parse_agent_versions(load("hybridcompute-agentversions.json"), problems) == [
        Version(1, 66),
        Version(1, 67),
    ]
    assert problems.issues() == []


def test_advisor_rows_and_bad_values():
    problems = Problems()
    rows = [{"latestVersion": "1.67", "machines": 12}, {"latestVersion": "", "machines": 1}, "junk"]
    assert parse_advisor(rows, problems) == [Version(1, 67)]
    [issue] = problems.issues()
    assert issue.reason is Reason.MALFORMED_PAYLOAD
    assert dict(issue.fields)["machines"] == "2"


def row(**fields: Any) -> dict[str, Any]:
    base = load("resourcegraph-arc-machines.json")["data"][0]
    return {**base, **fields}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.60.03293.2680", Version(1, 60)),
        ("1.60.03293.809", Version(1, 60)),
        ("1.40.02669.1635", Version(1, 40)),  # a re-release keeps major.minor
        ("1.67", Version(1, 67)),
        (" 2.0.1 ", Version(2, 0)),
    ],
)
def test_versions_map_to_releases_by_major_minor(value: str, expected: Version):
    problems = Problems()
    machine = parse_machine(row(agentVersion=value), problems)
    assert machine is not None
    assert machine.version == expected
    assert problems.issues() == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", Reason.MISSING_FIELD),
        (None, Reason.MISSING_FIELD),
        ("1.x", Reason.MALFORMED_PAYLOAD),
        ("latest", Reason.MALFORMED_PAYLOAD),
        (1.6, Reason.MALFORMED_PAYLOAD),
    ],
)
def test_unreadable_versions_keep_the_machine(value: object, reason: Reason):
    problems = Problems()
    machine = parse_machine(row(agentVersion=value), problems)
    assert machine is not None
    assert machine.version is None
    [issue] = problems.issues()
    assert issue.reason is reason


def test_status_null_unknown_and_odd_casing():
    problems = Problems()
    missing = parse_machine(row(status=None), problems)
    odd = parse_machine(row(status="Rebooting"), problems)
    cased = parse_machine(row(status="connected"), problems)
    assert missing is not None
    assert missing.status == MISSING_STATUS
    assert odd is not None
    assert odd.status == "Rebooting"
    assert cased is not None
    assert cased.status == "Connected"
    reasons = sorted((i.key, i.reason) for i in problems.issues())
    assert reasons == [("status:Rebooting", Reason.UNKNOWN_ENUM), ("status:missing", Reason.MISSING_FIELD)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("True", True),
        ("false", False),
        (False, False),
        (None, False),
        ("", False),
    ],
)
def test_booleans_sent_as_strings(value: object, expected: bool):
    problems = Problems()
    machine = parse_machine(row(enableAutomaticUpgrade=value), problems)
    assert machine is not None
    assert machine.automatic_upgrade is expected
    assert problems.issues() == []


def test_garbage_boolean_and_dates_drop_only_that_field():
    problems = Problems()
    machine = parse_machine(
        row(enableAutomaticUpgrade="maybe", lastStatusChange="yesterday", lastAttemptTimestamp=17), problems
    )
    assert machine is not None
    assert machine.automatic_upgrade is None
    assert machine.last_status_change is None
    assert machine.last_attempt_at is None
    assert machine.version == Version(1, 60)
    assert {i.key for i in problems.issues()} == {
        "enableAutomaticUpgrade:bad",
        "lastStatusChange:bad",
        "lastAttemptTimestamp:bad",
    }


def test_unknown_attempt_status_passes_through():
    problems = Problems()
    machine = parse_machine(row(lastAttemptStatus="InProgress"), problems)
    assert machine is not None
    assert machine.last_attempt_status == "InProgress"
    assert [i.reason for i in problems.issues()] == [Reason.UNKNOWN_ENUM]


def test_rows_without_machine_ids_are_skipped_and_ids_lowercased():
    problems = Problems()
    rows = [
        "not an object",
        {"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"},
        row(
            id=f"/subscriptions/{SUB.upper()}/resourceGroups/RG-Arc/providers/Microsoft.HybridCompute/machines/SRV-A"
        ),
        row(
            id=f"/subscriptions/{SUB}/resourcegroups/rg-arc/providers/microsoft.hybridcompute/machines/srv-a"
        ),
    ]
    machines = parse_machines(rows, problems)
    assert [(m.subscription_id, m.resource_group, m.name) for m in machines] == [(SUB, "rg-arc", "srv-a")]
    assert {i.key for i in problems.issues()} == {"row", "row:id"}


def test_problems_are_grouped_by_field_and_value_not_by_machine():
    problems = Problems()
    rows = [
        row(
            id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m{i}",
            agentVersion=None,
        )
        for i in range(500)
    ]
    assert len(parse_machines(rows, problems)) == 500
    [issue] = problems.issues()
    assert issue.key == "agentVersion:missing"
    assert dict(issue.fields) == {"machines": "500", "example": f"{SUB}/rg/m0"}


def test_query_time_is_the_newest_queried_at():
    rows = [
        {"queriedAt": "2026-11-21T10:00:00Z"},
        {"queriedAt": "2026-11-21T10:00:01.5Z"},
        {"queriedAt": "x"},
        3,
    ]
    assert query_time(rows) == datetime(2026, 11, 21, 10, 0, 1, 500000, tzinfo=UTC)
    assert query_time([{"id": "a"}]) is None
