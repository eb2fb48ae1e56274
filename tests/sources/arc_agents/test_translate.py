"""Arc snapshot and exposition: downgrades across refreshes, aggregates, the aggregates-only option,
explicit unknowns, and an exposition that does not depend on the scrape time."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.core.source import Issue
from exporter.sources.arc_agents.model import Snapshot
from exporter.sources.arc_agents.parse import Inputs, Problems, build_snapshot, parse_machines
from exporter.sources.arc_agents.parse_releases import build_table, packaged_text
from exporter.sources.arc_agents.translate import translate

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "arc_agents"
SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)


def rows(**versions: str) -> list[dict[str, object]]:
    """The example rows, with agentVersion replaced per machine name (srv_sql_01="1.x")."""
    data = json.loads((PAYLOADS / "resourcegraph-arc-machines.json").read_text())["data"]
    for row in data:
        key = str(row["name"]).replace("-", "_")
        if key in versions:
            row["agentVersion"] = versions[key]
    return data


def snapshot(
    data: list[dict[str, object]], previous: Snapshot | None = None, *, per_machine: bool = True
) -> Snapshot:
    issues: list[Issue] = []
    machines = parse_machines(data, Problems())
    table = build_table(packaged_text(), None, "", issues)
    return build_snapshot(Inputs(AT, AT, machines, table), previous, WINDOW, per_machine, frozenset())


def exposition(snap: Snapshot, now: datetime = AT) -> str:
    class Source:
        def collect(self):  # type: ignore[no-untyped-def]
            return translate(snap, now)

    registry = CollectorRegistry()
    registry.register(Source())
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def machine(name: str) -> dict[str, str]:
    return {"subscription_id": SUB, "resource_group": "rg-arc-onprem", "machine": name}


def test_per_machine_series_of_the_example_estate():
    text = exposition(snapshot(rows()))
    sql = machine("srv-sql-01")
    assert (
        value(
            text, "azure_arc_agent_version_info", **sql, agent_version="1.60", agent_build="1.60.03293.2680"
        )
        == 1
    )
    info = {
        "resource_id": "/subscriptions/6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10/resourcegroups/rg-arc-onprem"
        "/providers/microsoft.hybridcompute/machines/srv-sql-01",
        "kind": "",
        "os_type": "windows",
        "os_sku": "Windows Server 2022 Datacenter",
        "location": "westeurope",
    }
    assert value(text, "azure_arc_machine_info", **sql, **info) == 1
    assert (
        value(text, "azure_arc_agent_release_timestamp_seconds", **sql)
        == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    )
    end = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert value(text, "azure_arc_agent_support_end_timestamp_seconds", **sql) == end
    assert value(text, "azure_arc_agent_versions_behind", **sql) == 7
    assert value(text, "azure_arc_agent_supported", **sql) == 1
    assert value(text, "azure_arc_agent_upgrade_last_attempt_status", **sql, status="Failed") == 1
    assert value(text, "azure_arc_agent_upgrade_last_attempt_status", **sql, status="Success") == 0
    upgrade = {"desired_version": "1.61", "last_attempt_desired_version": "1.61"}
    assert value(text, "azure_arc_agent_upgrade_info", **sql, **upgrade) == 1
    web = machine("srv-web-07")
    assert value(text, "azure_arc_agent_supported", **web) == 0
    assert value(text, "azure_arc_machine_status", **web, status="Disconnected") == 1
    assert value(text, "azure_arc_machine_status", **web, status="Connected") == 0
    assert value(text, "azure_arc_agent_automatic_upgrade_enabled", **web) == 0
    assert value(text, "azure_arc_agent_upgrade_last_attempt_timestamp_seconds", **web) is None
    assert value(text, "azure_arc_machine_status", **machine("srv-old-02"), status="Expired") == 1


def test_fleet_aggregates():
    text = exposition(snapshot(rows()))
    assert value(text, "azure_arc_agents", subscription_id=SUB, agent_version="1.60", status="Connected") == 1
    assert value(text, "azure_arc_agents", subscription_id=SUB, agent_version="1.60", status="Expired") == 0
    assert value(text, "azure_arc_agent_support_machines", subscription_id=SUB, state="unsupported") == 2
    assert value(text, "azure_arc_agent_support_machines", subscription_id=SUB, state="supported") == 1
    assert value(text, "azure_arc_agent_support_machines", subscription_id=SUB, state="unknown") == 0
    assert value(text, "azure_arc_agent_automatic_upgrade_enabled_machines", subscription_id=SUB) == 1
    assert value(text, "azure_arc_agent_upgrade_failed_machines", subscription_id=SUB) == 1
    assert value(text, "azure_arc_agent_downgrades_total", subscription_id=SUB) == 0
    newest = {"agent_version": "1.67", "source": "table", "table_version": "1.67"}
    assert value(text, "azure_arc_agent_newest_version_info", **newest) == 1
    assert value(text, "azure_arc_agent_release_table_versions_behind") == 0
    assert value(text, "azure_arc_agents_evaluated_timestamp_seconds") == AT.timestamp()


def test_unknown_versions_are_explicit():
    data = rows(srv_sql_01="1.x")
    text = exposition(snapshot(data))
    sql = machine("srv-sql-01")
    assert value(text, "azure_arc_agent_supported", **sql) is None  # no silent 0
    assert value(text, "azure_arc_agent_support_known", **sql) == 0
    assert value(text, "azure_arc_agent_versions_behind", **sql) is None
    assert value(text, "azure_arc_agent_version_info", **sql, agent_version="unknown", agent_build="1.x") == 1
    assert value(text, "azure_arc_agent_support_machines", subscription_id=SUB, state="unknown") == 1
    assert (
        value(text, "azure_arc_agents", subscription_id=SUB, agent_version="unknown", status="Connected") == 1
    )


def test_a_version_newer_than_the_table_is_supported_and_flags_the_table():
    data = rows(srv_web_07="1.69.03600.1400")
    text = exposition(snapshot(data))
    web = machine("srv-web-07")
    assert value(text, "azure_arc_agent_supported", **web) == 1
    assert value(text, "azure_arc_agent_release_timestamp_seconds", **web) is None
    assert value(text, "azure_arc_agent_versions_behind", **web) == 0
    assert value(text, "azure_arc_agent_versions_behind", **machine("srv-sql-01")) == 9
    newest = {"agent_version": "1.69", "source": "estate", "table_version": "1.67"}
    assert value(text, "azure_arc_agent_newest_version_info", **newest) == 1
    assert value(text, "azure_arc_agent_release_table_versions_behind") == 2


def test_downgrades_are_counted_against_the_previous_snapshot():
    first = snapshot(rows())
    # srv-sql-01 goes 1.60 -> 1.44; srv-web-07 upgrades 1.44 -> 1.67 (not a downgrade)
    data = rows(srv_sql_01="1.44.02725.1570", srv_web_07="1.67.03504.1320")
    second = snapshot(data, first)
    text = exposition(second)
    assert value(text, "azure_arc_agent_downgrades_total", subscription_id=SUB) == 1
    assert (
        value(text, "azure_arc_agent_downgrade_timestamp_seconds", **machine("srv-sql-01")) == AT.timestamp()
    )
    assert value(text, "azure_arc_agent_downgrade_timestamp_seconds", **machine("srv-web-07")) is None
    # Same versions again: the count stays, the machine keeps its downgrade time.
    third = exposition(snapshot(data, second))
    assert value(third, "azure_arc_agent_downgrades_total", subscription_id=SUB) == 1
    assert (
        value(third, "azure_arc_agent_downgrade_timestamp_seconds", **machine("srv-sql-01")) == AT.timestamp()
    )
    # An unreadable version is not a downgrade.
    data = rows(srv_sql_01="1.44.02725.1570", srv_web_07="", srv_old_02="")
    assert (
        value(exposition(snapshot(data, second)), "azure_arc_agent_downgrades_total", subscription_id=SUB)
        == 1
    )


def test_aggregates_only_option_drops_every_per_machine_family():
    full = {name for name, _ in samples(exposition(snapshot(rows())))}
    aggregates = {name for name, _ in samples(exposition(snapshot(rows(), per_machine=False)))}
    assert "azure_arc_machine_info" in full
    assert not {n for n in aggregates if n.startswith(("azure_arc_machine_", "azure_arc_agent_version_info"))}
    assert {
        "azure_arc_agents",
        "azure_arc_agent_support_machines",
        "azure_arc_agent_downgrades_total",
    } <= aggregates
    assert aggregates < full


def test_exposition_does_not_depend_on_the_scrape_time():
    snap = snapshot(rows())
    assert exposition(snap, AT) == exposition(snap, AT + timedelta(days=400))


def test_a_snapshot_is_judged_at_its_evaluation_time():
    snap = snapshot(rows())
    later = replace(snap, evaluated_at=AT + timedelta(days=60))
    assert later.evaluated_at != snap.evaluated_at
    issues: list[Issue] = []
    table = build_table(packaged_text(), None, "", issues)
    machines = parse_machines(rows(), Problems())
    moved = build_snapshot(
        Inputs(AT, AT + timedelta(days=60), machines, table), None, WINDOW, True, frozenset()
    )
    text = exposition(moved)
    assert (
        value(text, "azure_arc_agent_supported", **machine("srv-sql-01")) == 0
    )  # 2027-01-20: past 2027-01-01
